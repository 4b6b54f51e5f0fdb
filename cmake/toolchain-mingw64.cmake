# Cross build for 64-bit Windows with mingw-w64 (Debian: gcc-mingw-w64-x86-64);
# ctest runs the .exe files through Wine (Debian: wine, wine64).
#   cmake --preset windows   or   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-mingw64.cmake ...
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(SOCKCHECK_MINGW_TRIPLE x86_64-w64-mingw32 CACHE STRING "mingw-w64 target triple (tool name prefix)")
set(CMAKE_C_COMPILER ${SOCKCHECK_MINGW_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${SOCKCHECK_MINGW_TRIPLE}-g++)
set(CMAKE_RC_COMPILER ${SOCKCHECK_MINGW_TRIPLE}-windres)
set(CMAKE_AR ${SOCKCHECK_MINGW_TRIPLE}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${SOCKCHECK_MINGW_TRIPLE}-ranlib CACHE FILEPATH "")

# Headers and libraries come from the mingw sysroot only; programs (cmake,
# meson, wine) from the build machine.
set(CMAKE_FIND_ROOT_PATH /usr/${SOCKCHECK_MINGW_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Wine runs the tests. Debian 12 keeps wine64 off PATH, in /usr/lib/wine.
# WINEDEBUG=-all keeps Wine's own diagnostics out of the test output; the
# prefix lives in the build tree unless WINEPREFIX names another one.
find_program(SOCKCHECK_WINE NAMES wine64 wine PATHS /usr/lib/wine /usr/lib64/wine NO_CMAKE_FIND_ROOT_PATH)
if(SOCKCHECK_WINE)
  if(DEFINED ENV{WINEPREFIX})
    set(SOCKCHECK_WINEPREFIX "$ENV{WINEPREFIX}" CACHE PATH "Wine prefix for running the tests")
  else()
    set(SOCKCHECK_WINEPREFIX "${CMAKE_BINARY_DIR}/wineprefix" CACHE PATH "Wine prefix for running the tests")
  endif()
  set(CMAKE_CROSSCOMPILING_EMULATOR
      /usr/bin/env WINEDEBUG=-all WINEPREFIX=${SOCKCHECK_WINEPREFIX} ${SOCKCHECK_WINE})
endif()
