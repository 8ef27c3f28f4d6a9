# Every third-party dependency, found once, as an imported target named XB::<name>.
# All come from Debian bookworm packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

macro(xb_pkg name)
  pkg_check_modules(XBPKG_${name} REQUIRED IMPORTED_TARGET ${ARGN})
  if(NOT TARGET XB::${name})
    add_library(XB::${name} INTERFACE IMPORTED GLOBAL)
    target_link_libraries(XB::${name} INTERFACE PkgConfig::XBPKG_${name})
  endif()
endmacro()

xb_pkg(dpdk     libdpdk)          # DPDK 22.11
xb_pkg(ndpi     libndpi)          # nDPI 4.2
xb_pkg(hs       libhs)            # Hyperscan 5.4
xb_pkg(crypto   libcrypto)        # OpenSSL 3.0
xb_pkg(protobuf protobuf)         # protobuf 3.21
xb_pkg(grpcpp   grpc++)           # gRPC 1.51
xb_pkg(bpf      libbpf)           # libbpf 1.1
xb_pkg(xdp      libxdp)
xb_pkg(sqlite   sqlite3)
xb_pkg(pcap     libpcap)
xb_pkg(yamlcpp  yaml-cpp)
xb_pkg(absl     absl_status absl_statusor absl_strings)
xb_pkg(gtest    gtest gmock)
xb_pkg(gtest_main gtest_main)
pkg_check_modules(XBPKG_benchmark IMPORTED_TARGET benchmark)
if(XBPKG_benchmark_FOUND)
  add_library(XB::benchmark INTERFACE IMPORTED GLOBAL)
  target_link_libraries(XB::benchmark INTERFACE PkgConfig::XBPKG_benchmark)
endif()

find_program(XB_PROTOC protoc REQUIRED)
find_program(XB_GRPC_CPP_PLUGIN grpc_cpp_plugin)
