# Criterion for the Windows build, built with meson for the same mingw-w64
# toolchain and linked statically into the test .exe. Linux builds use the
# system's Criterion (Debian: libcriterion-dev) and never include this file.
#
# By default the pinned sources come from upstream (git); offline, point
# SOCKCHECK_CRITERION_TARBALL at criterion-2.4.3-src.tar.xz, which carries the
# same pinned subprojects in subprojects/ (see shared/third_party/README.md).
#
# Defines the INTERFACE target sockcheck_criterion and sets CRITERION_LIBRARY
# and CRITERION_INCLUDE_DIR, so that conformance/CMakeLists.txt's
# find_library/find_path see them as found.

# Script mode, STEP=pin-wraps (upstream only): pins the nanomsg and BoxFort
# wraps. STEP=patch-boxfort: BoxFort's Windows sandbox never cancels its
# timeout timers (bxfi_cancel_timeout is empty) and frees the instance they
# point to, so a test's timer fires during a later test of the same run,
# kills it ("Timed out" long before its .timeout) and corrupts the runner
# (csptr/mman.c assertion, "Could not spawn test instance"). The patch keeps
# the timers in the instance and deletes them when the process ends.
if(CMAKE_SCRIPT_MODE_FILE AND STEP STREQUAL "patch-boxfort")
  set(_d ${SUBPROJECTS}/boxfort/src)
  file(READ ${_d}/sandbox-windows.h _h)
  if(NOT _h MATCHES "sockcheck")
    string(REPLACE "    HANDLE waited;\n" "    HANDLE waited;\n\n    /* sockcheck: the runtime quota timers, deleted at exit. */\n    HANDLE timers[2];\n    int ntimers;\n" _h "${_h}")
    file(WRITE ${_d}/sandbox-windows.h "${_h}")
    file(READ ${_d}/sandbox-windows.c _c)
    string(REPLACE "    instance->mantled   = mantled;\n" "    instance->mantled   = mantled;\n    instance->ntimers   = 0;\n" _c "${_c}")
    string(REPLACE "    CloseHandle(sb->waited);\n    free(sb);" "    CloseHandle(sb->waited);\n    bxfi_cancel_timeout(sb);\n    free(sb);" _c "${_c}")
    file(WRITE ${_d}/sandbox-windows.c "${_c}")
    file(READ ${_d}/timeout-windows.c _t)
    string(REPLACE "    if (!ok)\n        return -1;\n    return 0;\n}"
      "    if (!ok)\n        return -1;\n    struct bxfi_sandbox *sb = (struct bxfi_sandbox *) (void *) instance;\n    if (sb->ntimers < 2)\n        sb->timers[sb->ntimers++] = timer;\n    return 0;\n}" _t "${_t}")
    string(REPLACE "void bxfi_cancel_timeout(struct bxfi_sandbox_s *instance)\n{\n    (void) instance;\n}"
      "void bxfi_cancel_timeout(struct bxfi_sandbox_s *instance)\n{\n    /* sockcheck: wait for a running callback, then drop the timer. */\n    struct bxfi_sandbox *sb = (struct bxfi_sandbox *) (void *) instance;\n    while (sb->ntimers > 0)\n        DeleteTimerQueueTimer(NULL, sb->timers[--sb->ntimers], INVALID_HANDLE_VALUE);\n}" _t "${_t}")
    if(NOT _t MATCHES "sockcheck")
      message(FATAL_ERROR "patch-boxfort: ${_d}/timeout-windows.c is not the expected version")
    endif()
    file(WRITE ${_d}/timeout-windows.c "${_t}")
  endif()
  return()
endif()
if(CMAKE_SCRIPT_MODE_FILE)
  file(READ ${SUBPROJECTS}/nanomsg-cmake.wrap _w)
  string(REGEX REPLACE "revision = [^\n]*" "revision = ${NANOMSG_REV}" _w "${_w}")
  string(REGEX REPLACE "depth = [^\n]*\n" "" _w "${_w}")
  file(WRITE ${SUBPROJECTS}/nanomsg-cmake.wrap "${_w}")
  file(READ ${SUBPROJECTS}/boxfort.wrap _w)
  string(REGEX REPLACE "revision = [^\n]*" "revision = ${BOXFORT_REV}" _w "${_w}")
  file(WRITE ${SUBPROJECTS}/boxfort.wrap "${_w}")
  return()
endif()

include_guard(GLOBAL)
include(ExternalProject)

set(SOCKCHECK_CRITERION_TARBALL "$ENV{SOCKCHECK_CRITERION_TARBALL}" CACHE FILEPATH
    "Criterion 2.4.3 source tarball with its meson subprojects (offline build); empty: fetch from upstream (default: $SOCKCHECK_CRITERION_TARBALL)")

# The pinned versions. nanomsg stays at 1.2.0: with 1.2.1 every Criterion
# worker aborts in nn_getl (nanomsg#1111, Criterion#558). BoxFort is pinned
# to the commit the offline tarball carries, so both ways build the same code.
set(SOCKCHECK_CRITERION_GIT https://github.com/Snaipe/Criterion.git)
set(SOCKCHECK_CRITERION_TAG v2.4.3)
set(SOCKCHECK_NANOMSG_REV 24c9822b)
set(SOCKCHECK_BOXFORT_REV 1018a44)

find_program(SOCKCHECK_MESON meson)
find_program(SOCKCHECK_NINJA NAMES ninja ninja-build)
if(NOT SOCKCHECK_MESON OR NOT SOCKCHECK_NINJA)
  message(FATAL_ERROR "Criterion for Windows is built with meson and ninja: install them (Debian: meson ninja-build)")
endif()

# A meson cross file for the compilers CMake uses.
get_filename_component(_sc_cc_dir ${CMAKE_C_COMPILER} DIRECTORY)
set(_sc_cross ${CMAKE_BINARY_DIR}/criterion-windows/cross.ini)
file(WRITE ${_sc_cross}
  "# Written by cmake/criterion-windows.cmake.\n"
  "[binaries]\n"
  "c = '${CMAKE_C_COMPILER}'\n"
  "ar = '${CMAKE_AR}'\n"
  "strip = '${CMAKE_STRIP}'\n"
  "windres = '${CMAKE_RC_COMPILER}'\n"
  "pkg-config = '/bin/false'\n"
  "cmake = '${CMAKE_COMMAND}'\n"
  "\n[properties]\n"
  "needs_exe_wrapper = true\n"
  "\n[host_machine]\n"
  "system = 'windows'\n"
  "cpu_family = 'x86_64'\n"
  "cpu = 'x86_64'\n"
  "endian = 'little'\n")

set(_sc_src ${CMAKE_BINARY_DIR}/criterion-windows/source)
set(_sc_bin ${CMAKE_BINARY_DIR}/criterion-windows/build)
set(_sc_libs
  ${_sc_bin}/src/libcriterion.a
  ${_sc_bin}/subprojects/boxfort/src/libboxfort.a
  ${_sc_bin}/subprojects/nanopb/libprotobuf_nanopb_static.a
  ${_sc_bin}/subprojects/nanomsg/libnanomsg.a)

# theories and diffs need libffi and libgit2, which the tarball leaves out;
# the suites use neither.
set(_sc_meson_setup ${CMAKE_COMMAND} -E env --unset=CC --unset=CFLAGS --unset=LDFLAGS
  ${SOCKCHECK_MESON} setup ${_sc_bin} ${_sc_src} --cross-file ${_sc_cross}
  --buildtype=release -Ddefault_library=static
  -Dtheories=disabled -Ddiffs=disabled -Di18n=disabled -Dtests=false -Dsamples=false)

if(SOCKCHECK_CRITERION_TARBALL)
  if(NOT EXISTS ${SOCKCHECK_CRITERION_TARBALL})
    message(FATAL_ERROR "SOCKCHECK_CRITERION_TARBALL: no such file: ${SOCKCHECK_CRITERION_TARBALL}")
  endif()
  set(_sc_download URL ${SOCKCHECK_CRITERION_TARBALL})
  set(_sc_patch "")
  set(_sc_wrap_mode nodownload)
else()
  # Upstream: Criterion's own wraps fetch the subprojects with git; the
  # patch step pins nanomsg and BoxFort (a full clone, so that a short
  # commit id resolves).
  set(_sc_download GIT_REPOSITORY ${SOCKCHECK_CRITERION_GIT} GIT_TAG ${SOCKCHECK_CRITERION_TAG} GIT_SHALLOW ON)
  set(_sc_patch PATCH_COMMAND ${CMAKE_COMMAND} -DSTEP=pin-wraps
    -DSUBPROJECTS=<SOURCE_DIR>/subprojects
    -DNANOMSG_REV=${SOCKCHECK_NANOMSG_REV} -DBOXFORT_REV=${SOCKCHECK_BOXFORT_REV}
    -P ${CMAKE_CURRENT_LIST_FILE})
  set(_sc_wrap_mode default)
endif()
# BoxFort is patched (idempotent) before meson configures; from upstream it
# is downloaded first.
# A changed configure step reruns on a build tree meson has set up already:
# it starts afresh.
set(_sc_configure ${CMAKE_COMMAND} -DSTEP=patch-boxfort -DSUBPROJECTS=${_sc_src}/subprojects
    -P ${CMAKE_CURRENT_LIST_FILE}
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${_sc_bin}/meson-private ${_sc_bin}/build.ninja
  COMMAND ${_sc_meson_setup})
if(NOT SOCKCHECK_CRITERION_TARBALL)
  set(_sc_configure ${SOCKCHECK_MESON} subprojects download --sourcedir ${_sc_src} boxfort
    COMMAND ${_sc_configure})
endif()

ExternalProject_Add(criterion_windows
  ${_sc_download}
  ${_sc_patch}
  PREFIX ${CMAKE_BINARY_DIR}/criterion-windows
  SOURCE_DIR ${_sc_src}
  BINARY_DIR ${_sc_bin}
  CONFIGURE_COMMAND ${_sc_configure} --wrap-mode=${_sc_wrap_mode}
  BUILD_COMMAND ${SOCKCHECK_NINJA} -C ${_sc_bin}
  INSTALL_COMMAND ""
  BUILD_BYPRODUCTS ${_sc_libs}
  DOWNLOAD_EXTRACT_TIMESTAMP ON
  LOG_CONFIGURE ON
  LOG_BUILD ON
  LOG_OUTPUT_ON_FAILURE ON)

# The headers otherwise declare every symbol dllimport (criterion/internal/common.h).
add_library(sockcheck_criterion INTERFACE)
add_dependencies(sockcheck_criterion criterion_windows)
target_include_directories(sockcheck_criterion INTERFACE ${_sc_src}/include)
target_compile_definitions(sockcheck_criterion INTERFACE CRITERION_BUILDING_DLL)
target_link_libraries(sockcheck_criterion INTERFACE ${_sc_libs} ws2_32 mswsock)

set(CRITERION_LIBRARY sockcheck_criterion CACHE INTERNAL "Criterion for Windows (cmake/criterion-windows.cmake)")
set(CRITERION_INCLUDE_DIR ${_sc_src}/include CACHE INTERNAL "Criterion for Windows headers")
