# Every dependency comes from the distribution's packages (see
# scripts/install-deps); nothing is vendored.

find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(CURL REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(cpprestsdk REQUIRED)
find_package(prometheus-cpp REQUIRED COMPONENTS core pull)
find_package(CLI11 REQUIRED)
find_package(pugixml 1.11 REQUIRED)
find_package(doctest REQUIRED)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
