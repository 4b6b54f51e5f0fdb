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

# Script mode (the upstream patch step): pins the nanomsg and BoxFort wraps.
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
  set(_sc_patch PATCH_COMMAND ${CMAKE_COMMAND}
    -DSUBPROJECTS=<SOURCE_DIR>/subprojects
    -DNANOMSG_REV=${SOCKCHECK_NANOMSG_REV} -DBOXFORT_REV=${SOCKCHECK_BOXFORT_REV}
    -P ${CMAKE_CURRENT_LIST_FILE})
  set(_sc_wrap_mode default)
endif()

ExternalProject_Add(criterion_windows
  ${_sc_download}
  ${_sc_patch}
  PREFIX ${CMAKE_BINARY_DIR}/criterion-windows
  SOURCE_DIR ${_sc_src}
  BINARY_DIR ${_sc_bin}
  CONFIGURE_COMMAND ${_sc_meson_setup} --wrap-mode=${_sc_wrap_mode}
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
