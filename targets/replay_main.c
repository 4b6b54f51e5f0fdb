/* Standalone driver for a fuzz target without libFuzzer: replays files and
 * directories (recursively) through LLVMFuzzerTestOneInput. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Each input runs this many times: state leaking from one run into the
 * next shows up as a different outcome or an fd count that moved. */
#define RUNS_PER_INPUT 2
/* Seconds one input may take (all its runs) before SIGALRM ends the
 * process; a fuzzer's default timeout is far longer, a replay's is not. */
#define INPUT_TIMEOUT_S 25
/* Directory levels followed below each argument; deeper trees are an error
 * rather than a loop through a link. */
#define MAX_DEPTH 16
/* Descriptors probed when /proc/self/fd is not available. */
#define FD_PROBE_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional in a target: LLVM's own standalone main declares it weak too. */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef struct paths {
    char **v;
    size_t n, cap;
} paths_t;

static const char *prog = "replay";

static int add_path(paths_t *p, const char *path)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        char **v = realloc(p->v, cap * sizeof(*v));
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n] = strdup(path);
    return p->v[p->n] ? (int)++p->n - 1 : -1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Files found under path, in name order so that runs are repeatable;
 * hidden entries (".gitkeep") are skipped. */
static int collect(paths_t *p, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return add_path(p, path) < 0 ? -1 : 0;
    if (depth >= MAX_DEPTH) {
        fprintf(stderr, "%s: %s: deeper than %d levels\n", prog, path, MAX_DEPTH);
        return -1;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return -1;
    }
    paths_t here = {0};
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        char *child = malloc(len);
        if (!child) {
            rc = -1;
            break;
        }
        snprintf(child, len, "%s/%s", path, e->d_name);
        rc = add_path(&here, child) < 0 ? -1 : 0;
        free(child);
    }
    closedir(d);
    if (here.n)
        qsort(here.v, here.n, sizeof(*here.v), by_name);
    for (size_t i = 0; i < here.n; i++) {
        if (rc == 0)
            rc = collect(p, here.v[i], depth + 1);
        free(here.v[i]);
    }
    free(here.v);
    return rc;
}

/* The whole file in a heap block of exactly its size, so that a read one
 * byte past the input is a heap overflow under ASan, not a silent read
 * (an empty file gets malloc(0), which ASan treats the same way). */
static uint8_t *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    long end = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (end >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)end);
        if (!buf && end == 0)
            buf = malloc(1);
        if (buf && fread(buf, 1, (size_t)end, f) != (size_t)end) {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    *size = end > 0 ? (size_t)end : 0;
    return buf;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int n = 0;
        while (readdir(d))
            n++;
        closedir(d);
        return n;
    }
    int n = 0;
    for (int fd = 0; fd < FD_PROBE_MAX; fd++)
        n += fcntl(fd, F_GETFD) != -1;
    return n;
}

static int replay_one(const char *path, size_t index, size_t total)
{
    size_t size = 0;
    uint8_t *data = read_file(path, &size);
    if (!data) {
        fprintf(stderr, "%s: %s: cannot read: %s\n", prog, path, strerror(errno));
        return -1;
    }
    printf("[%zu/%zu] %s (%zu bytes)\n", index + 1, total, path, size);
    fflush(stdout);
    int failed = 0;
    int fds = count_fds();
    alarm(INPUT_TIMEOUT_S);
    for (int run = 0; run < RUNS_PER_INPUT; run++) {
        int rc = LLVMFuzzerTestOneInput(data, size);
        /* libFuzzer reserves every value other than 0 and -1 (reject). */
        if (rc != 0 && rc != -1) {
            fprintf(stderr, "%s: %s: run %d returned %d\n", prog, path, run + 1, rc);
            failed = 1;
        }
    }
    alarm(0);
    int after = count_fds();
    if (after != fds) {
        fprintf(stderr, "%s: %s: %d descriptors open before, %d after\n", prog, path, fds, after);
        failed = 1;
    }
    free(data);
    return failed ? -1 : 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--help] FILE|DIR...\n"
            "Replays each file (directories recursively, in name order, hidden entries\n"
            "skipped) through the fuzz target %d times, without libFuzzer. Fails when an\n"
            "input crashes, returns a value other than 0 or -1, changes the number of open\n"
            "descriptors, or runs longer than %d s; also fails when no input is found.\n",
            prog, RUNS_PER_INPUT, INPUT_TIMEOUT_S);
}

int main(int argc, char **argv)
{
    if (argc > 0 && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        prog = slash ? slash + 1 : argv[0];
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    paths_t inputs = {0};
    for (int i = 1; i < argc; i++)
        if (collect(&inputs, argv[i], 0) != 0)
            return 2;
    if (inputs.n == 0) {
        fprintf(stderr, "%s: no inputs found (an empty corpus is an error)\n", prog);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    size_t failed = 0;
    for (size_t i = 0; i < inputs.n; i++) {
        failed += replay_one(inputs.v[i], i, inputs.n) != 0;
        free(inputs.v[i]);
    }
    free(inputs.v);
    printf("%s: %zu inputs, %zu failed\n", prog, inputs.n, failed);
    return failed ? 1 : 0;
}
