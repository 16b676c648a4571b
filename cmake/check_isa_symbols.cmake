# Fails the build when an object compiled for one ISA defines a weak symbol outside that ISA's
# namespace (fastdl::<isa>::): an inline function or template instantiation that another
# translation unit may also define, of which the linker keeps one copy for all callers. If it
# kept the AVX-512 copy, the portable and AVX2 paths would run AVX-512 instructions on CPUs that
# lack them.
#
#   cmake -DNM=<nm> -DISA=<isa> -DOBJECTS=<a;b;...> -P check_isa_symbols.cmake
execute_process(COMMAND ${NM} -C ${OBJECTS} OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "check_isa_symbols: ${NM} failed on the ${ISA} kernels")
endif()
string(REPLACE "\n" ";" lines "${symbols}")
set(shared "")
foreach(line IN LISTS lines)
  if(line MATCHES "^[0-9a-f]* [WVu] " AND NOT line MATCHES "fastdl::${ISA}::")
    string(APPEND shared "\n  ${line}")
  endif()
endforeach()
if(shared)
  message(FATAL_ERROR "The ${ISA} kernels define weak symbols outside fastdl::${ISA}::, which the "
                      "linker may share with the other ISAs' code (call a function of the ISA's "
                      "namespace, or one that is always inlined, instead):${shared}")
endif()
