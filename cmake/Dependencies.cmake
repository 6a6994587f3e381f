# Finds every dependency; a missing one stops configuration with the Debian package that provides it.
# On the GPU machine LibTorch comes from the PyTorch wheel:
#   cmake -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)') \
#         -DSIGNSWEEP_WITH_PROMETHEUS=OFF ...
include_guard(GLOBAL)

function(signsweep_require found what package)
  if(NOT ${found})
    message(FATAL_ERROR
      "signsweep: ${what} not found. Install it with: apt-get install --no-install-recommends ${package}"
      "  (or run scripts/setup.sh as root)")
  endif()
endfunction()

find_package(Threads REQUIRED)

# A CUDA LibTorch's CMake files add nvcc flags for TORCH_CUDA_ARCH_LIST and, without it and without a visible
# GPU, for every architecture they know (11 with CUDA 13, sm_50 among them): signsweep's kernels are built for
# A100 and H100/H200 unless the variable or the environment names others (e.g. TORCH_CUDA_ARCH_LIST=8.9).
if(NOT DEFINED TORCH_CUDA_ARCH_LIST AND NOT DEFINED ENV{TORCH_CUDA_ARCH_LIST})
  set(TORCH_CUDA_ARCH_LIST "8.0;9.0+PTX")  # PTX: newer GPUs compile it at load
endif()
find_package(Torch QUIET)
signsweep_require(Torch_FOUND "LibTorch (TorchConfig.cmake)" "libtorch-dev")
if(SIGNSWEEP_REQUIRE_CUDA AND NOT TARGET CUDA::cudart)
  message(FATAL_ERROR "signsweep: SIGNSWEEP_REQUIRE_CUDA is on but the LibTorch found (${Torch_DIR}) has no CUDA "
                      "runtime; point CMAKE_PREFIX_PATH at a CUDA build (scripts/setup-torch2.sh)")
endif()
# A CUDA LibTorch and nvcc: the fused BatchNorm double backward gets its CUDA kernels
# (workers/models/batch_norm_kernel_cuda.cu). Without nvcc the build goes on without them, and CUDA devices
# keep LibTorch's double backward. (PyTorch's CMake files have usually enabled CUDA already.)
set(SIGNSWEEP_CUDA_KERNELS OFF)
if(TARGET CUDA::cudart)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    set(SIGNSWEEP_CUDA_KERNELS ON)
  else()
    message(WARNING "signsweep: LibTorch is a CUDA build but no CUDA compiler (nvcc) was found: building without "
                    "the CUDA kernels of the fused BatchNorm double backward")
  endif()
endif()
# Torch's own flags (e.g. -D_GLIBCXX_USE_CXX11_ABI) must reach every TU that links against it.
string(REPLACE " " ";" SIGNSWEEP_TORCH_CXX_FLAGS "${TORCH_CXX_FLAGS}")

find_package(MPI QUIET COMPONENTS C CXX)
signsweep_require(MPI_CXX_FOUND "MPI (C++ bindings)" "libopenmpi-dev openmpi-bin")

find_package(HDF5 QUIET COMPONENTS C CXX)
signsweep_require(HDF5_FOUND "HDF5 (C and C++)" "libhdf5-dev")
if(NOT TARGET hdf5::hdf5)
  add_library(signsweep_hdf5 INTERFACE)
  target_include_directories(signsweep_hdf5 INTERFACE ${HDF5_INCLUDE_DIRS})
  target_link_libraries(signsweep_hdf5 INTERFACE ${HDF5_LIBRARIES})
  target_compile_definitions(signsweep_hdf5 INTERFACE ${HDF5_DEFINITIONS})
  add_library(hdf5::hdf5 ALIAS signsweep_hdf5)
endif()

find_package(yaml-cpp QUIET)
signsweep_require(yaml-cpp_FOUND "yaml-cpp" "libyaml-cpp-dev")
# yaml-cpp 0.7 (Debian 12) exports `yaml-cpp`; 0.8 also has `yaml-cpp::yaml-cpp`.
if(TARGET yaml-cpp::yaml-cpp)
  set(SIGNSWEEP_YAML_TARGET yaml-cpp::yaml-cpp)
else()
  set(SIGNSWEEP_YAML_TARGET yaml-cpp)
endif()

find_package(CLI11 QUIET CONFIG)
signsweep_require(CLI11_FOUND "CLI11" "libcli11-dev")
find_package(fmt QUIET CONFIG)
signsweep_require(fmt_FOUND "fmt" "libfmt-dev")
find_package(spdlog QUIET CONFIG)
signsweep_require(spdlog_FOUND "spdlog" "libspdlog-dev")

# PyTorch's wheels carry their own fmt (v12 in 2.11) in torch/include, an -isystem directory that the
# compiler searches before /usr/include: spdlog, built against the system's fmt, would then compile
# against the wheel's and fail (or worse, link two fmt ABIs). A one-entry directory, searched first, puts
# the system's fmt back in front; LibTorch's public headers do not include fmt.
foreach(torch_include IN LISTS TORCH_INCLUDE_DIRS)
  if(EXISTS "${torch_include}/fmt/format.h")
    get_target_property(fmt_include_dirs fmt::fmt INTERFACE_INCLUDE_DIRECTORIES)
    set(fmt_header_dir "/usr/include")
    foreach(dir IN LISTS fmt_include_dirs)
      if(EXISTS "${dir}/fmt/format.h")
        set(fmt_header_dir "${dir}")
        break()
      endif()
    endforeach()
    file(MAKE_DIRECTORY "${PROJECT_BINARY_DIR}/fmt-first")
    file(CREATE_LINK "${fmt_header_dir}/fmt" "${PROJECT_BINARY_DIR}/fmt-first/fmt" SYMBOLIC)
    include_directories(BEFORE SYSTEM "${PROJECT_BINARY_DIR}/fmt-first")
    message(STATUS "signsweep: ${torch_include}/fmt shadowed by ${fmt_header_dir}/fmt (fmt ${fmt_VERSION})")
    break()
  endif()
endforeach()

# Boost.Math (header-only): the binomial bounds of the reports' Clopper-Pearson intervals.
find_package(Boost 1.71 QUIET)
signsweep_require(Boost_FOUND "Boost.Math" "libboost-math-dev")
if(NOT TARGET Boost::headers)
  add_library(Boost::headers INTERFACE IMPORTED)
  target_include_directories(Boost::headers INTERFACE ${Boost_INCLUDE_DIRS})
endif()

# OpenSSL's libcrypto: SHA-256 for the content hashes that guard against a substituted file.
find_package(OpenSSL QUIET COMPONENTS Crypto)
signsweep_require(OpenSSL_FOUND "OpenSSL (libcrypto)" "libssl-dev")

find_package(nlohmann_json QUIET CONFIG)
signsweep_require(nlohmann_json_FOUND "nlohmann-json" "nlohmann-json3-dev")

find_package(PkgConfig QUIET)
signsweep_require(PKG_CONFIG_FOUND "pkg-config" "pkg-config")
pkg_check_modules(MATIO QUIET IMPORTED_TARGET matio)
signsweep_require(MATIO_FOUND "libmatio" "libmatio-dev")
pkg_check_modules(TURBOJPEG QUIET IMPORTED_TARGET libturbojpeg)
signsweep_require(TURBOJPEG_FOUND "libturbojpeg" "libturbojpeg0-dev")
find_package(PNG QUIET)
signsweep_require(PNG_FOUND "libpng" "libpng-dev")
find_package(ZLIB QUIET)
signsweep_require(ZLIB_FOUND "zlib" "zlib1g-dev")

if(SIGNSWEEP_WITH_PROMETHEUS)
  find_package(prometheus-cpp QUIET CONFIG)
  signsweep_require(prometheus-cpp_FOUND
    "prometheus-cpp (or configure with -DSIGNSWEEP_WITH_PROMETHEUS=OFF)" "prometheus-cpp-dev")
  if(NOT prometheus-cpp_VERSION)  # Debian's config package carries no version file
    pkg_check_modules(PROMETHEUS_CORE QUIET prometheus-cpp-core)
    set(prometheus-cpp_VERSION "${PROMETHEUS_CORE_VERSION}")
  endif()
endif()

if(SIGNSWEEP_BUILD_TESTS)
  find_package(GTest QUIET)
  signsweep_require(GTest_FOUND "GoogleTest" "libgtest-dev")
endif()
if(SIGNSWEEP_BUILD_BENCH)
  find_package(benchmark QUIET CONFIG)
  signsweep_require(benchmark_FOUND "Google Benchmark (or -DSIGNSWEEP_BUILD_BENCH=OFF)" "libbenchmark-dev")
endif()

# Every library whose version `signsweep --version` prints.
set(SIGNSWEEP_LIB_VERSIONS
  "libtorch ${Torch_VERSION}"
  "hdf5 ${HDF5_VERSION}"
  "yaml-cpp ${yaml-cpp_VERSION}"
  "CLI11 ${CLI11_VERSION}"
  "spdlog ${spdlog_VERSION}"
  "fmt ${fmt_VERSION}"
  "matio ${MATIO_VERSION}"
  "libjpeg-turbo ${TURBOJPEG_VERSION}"
  "libpng ${PNG_VERSION_STRING}")
if(SIGNSWEEP_WITH_PROMETHEUS)
  list(APPEND SIGNSWEEP_LIB_VERSIONS "prometheus-cpp ${prometheus-cpp_VERSION}")
endif()
