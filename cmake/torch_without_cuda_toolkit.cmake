# libtorch from the pip wheel on a machine without a CUDA toolkit. The wheel is a CUDA build, and
# its CMake config (Caffe2/public/cuda.cmake) stops when it finds no toolkit ("Your installed
# Caffe2 version uses CUDA but I cannot find the CUDA libraries"). Its headers and libraries need
# no toolkit (the CUDA runtime comes in pip's nvidia-* packages, found through the libraries'
# RPATH), so this imports them as the target `torch`, as TorchConfig.cmake would: libtorch,
# libtorch_cpu and libc10, and libtorch_cuda / libc10_cuda kept linked (--no-as-needed) so that a
# GPU with a driver still works at run time.
#
# In: CACHEGEN_TORCH_PREFIX (torch.utils.cmake_prefix_path) or Torch_DIR (<prefix>/Torch).
if(Torch_DIR)
  get_filename_component(torch_root "${Torch_DIR}/../../.." ABSOLUTE)
elseif(CACHEGEN_TORCH_PREFIX)
  get_filename_component(torch_root "${CACHEGEN_TORCH_PREFIX}/../.." ABSOLUTE)
else()
  message(FATAL_ERROR "libtorch not found: run scripts/setup.sh (pip torch in .venv), or pass "
                      "-DTorch_DIR=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')/Torch")
endif()
set(torch_libraries "")
foreach(name torch torch_cpu c10)
  find_library(CACHEGEN_LIB_${name} ${name} PATHS "${torch_root}/lib" NO_DEFAULT_PATH)
  if(NOT CACHEGEN_LIB_${name})
    message(FATAL_ERROR "lib${name}.so not found in ${torch_root}/lib")
  endif()
  list(APPEND torch_libraries "${CACHEGEN_LIB_${name}}")
endforeach()
foreach(name torch_cuda c10_cuda)
  find_library(CACHEGEN_LIB_${name} ${name} PATHS "${torch_root}/lib" NO_DEFAULT_PATH)
  if(CACHEGEN_LIB_${name})
    list(APPEND torch_libraries "-Wl,--no-as-needed" "${CACHEGEN_LIB_${name}}" "-Wl,--as-needed")
  endif()
endforeach()
add_library(torch INTERFACE IMPORTED)
set_target_properties(torch PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "${torch_root}/include;${torch_root}/include/torch/csrc/api/include"
  INTERFACE_LINK_LIBRARIES "${torch_libraries}")
message(STATUS "libtorch imported without a CUDA toolkit from ${torch_root}")
