# onnxpress_layer(PATH [PUBLIC deps...] [PRIVATE deps...])
#   One static library per layer of the design, named onnxpress_<PATH with / as _>,
#   built from src/PATH/*.cpp (the runtime also from src/runtime/kernels/). Modelled on
#   LLVM's per-component libraries: a layer links only what lies below it.
#
# onnxpress_precompile(TARGET)
#   Gives TARGET the shared precompiled header (cmake/Precompiled.h). Targets with the
#   library flags reuse the one built for onnxpress_support; targets with other
#   optimisation flags (the runtime, the CLI, the tests) build their own, since GCC only
#   uses a precompiled header made with the same flags.

add_compile_definitions(ONNXPRESS_VERSION="${PROJECT_VERSION}" $<$<CONFIG:Debug>:ONNXPRESS_VERIFY_BETWEEN_PASSES>)

set(ONNXPRESS_PCH_OWNER "")
function(onnxpress_precompile target)
  if(NOT ONNXPRESS_PCH)
    return()
  endif()
  # Every target inherits the directory's options; only targets that add their own
  # (-O3, -O0, ...) differ from the owner and need a header of their own.
  get_target_property(options ${target} COMPILE_OPTIONS)
  if(ONNXPRESS_PCH_OWNER)
    get_target_property(owner_options ${ONNXPRESS_PCH_OWNER} COMPILE_OPTIONS)
    if("${options}" STREQUAL "${owner_options}")
      target_precompile_headers(${target} REUSE_FROM ${ONNXPRESS_PCH_OWNER})
      return()
    endif()
    target_precompile_headers(${target} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/Precompiled.h)
  else()
    target_precompile_headers(${target} PRIVATE ${PROJECT_SOURCE_DIR}/cmake/Precompiled.h)
    set(ONNXPRESS_PCH_OWNER ${target} PARENT_SCOPE)
  endif()
endfunction()

function(onnxpress_layer path)
  string(REPLACE "/" "_" name "onnxpress_${path}")
  file(GLOB sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/${path}/*.cpp)
  if(path STREQUAL "runtime")
    file(GLOB kernels CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/runtime/kernels/*.cpp)
    list(APPEND sources ${kernels})
  elseif(path STREQUAL "train")
    file(GLOB gradients CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/train/gradients/*.cpp)
    list(APPEND sources ${gradients})
  endif()
  add_library(${name} STATIC ${sources})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} ${ARGN})
  if(path STREQUAL "runtime" OR path STREQUAL "train")
    # Set before onnxpress_precompile so that the runtime gets a PCH of its own flags.
    target_compile_options(${name} PRIVATE $<$<CONFIG:RelWithDebInfo,Release>:-O3>)
  endif()
  onnxpress_precompile(${name})
  set(ONNXPRESS_PCH_OWNER ${ONNXPRESS_PCH_OWNER} PARENT_SCOPE)
endfunction()
