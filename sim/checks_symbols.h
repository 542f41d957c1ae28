// sim/checks_symbols.h: what the checks' reports learn from the program file itself (private to
// sim/checks.cc, which alone includes it): where a code address is, for addr2line, and which
// variables of the program are __shared__ arrays, with their names.
#pragma once

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace loom::sim::symbols {

inline std::string hex(std::uintptr_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

inline std::string demangle(const char* name) {
  int status = 0;
  char* plain = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string text = status == 0 ? plain : name;
  std::free(plain);
  return text;
}

// "pc 0x55e0c1a2b3c4 (loom_tests+0x1a2b3c3)": the offset is that of the instruction that made the
// access (the callback's return address minus one), with the load bias subtracted, which is what
// `addr2line -Cfipe <file> <offset>` wants for PIE and non-PIE files alike. dladdr knows only
// exported names, and kernels are static functions: addr2line gives the function and source line.
inline std::string describe_pc(std::uintptr_t pc) {
  std::string text = "pc " + hex(pc);
  Dl_info info{};
  link_map* map = nullptr;
  if (pc == 0 || dladdr1(reinterpret_cast<void*>(pc), &info, reinterpret_cast<void**>(&map),
                         RTLD_DL_LINKMAP) == 0 || map == nullptr) {
    return text;
  }
  std::string file = info.dli_fname != nullptr ? info.dli_fname : "";
  if (file.empty()) {  // the main program's link map has no name
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    file = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "<program>";
  }
  const std::size_t slash = file.rfind('/');
  text += " (" + (slash == std::string::npos ? file : file.substr(slash + 1)) + "+" + hex(pc - 1 - map->l_addr);
  if (info.dli_sname != nullptr) text += " in " + demangle(info.dli_sname);
  return text + ")";
}

struct Object {
  std::uintptr_t addr = 0;  // where it is in this process
  std::size_t size = 0;
  std::string name;  // demangled, e.g. "loom::kernels::conv1d_igemm_kernel<float, ...>(...)::smem"
};

// The __shared__ variables of the program that holds `in_program` (an address in it), sorted by
// address: the objects of the loom_sim_shared section when it has any (clang, sim/device.h), else
// every function-local static in a writable section (GCC, where __shared__ is a plain static: in device
// code CUDA allows no other function-local static, so the ones a kernel touches are its shared arrays).
// Empty when the file has no symbol table (stripped).
inline std::vector<Object> load_shared_variables(const void* in_program) {
  std::vector<Object> vars;
  Dl_info info{};
  link_map* map = nullptr;
  if (dladdr1(in_program, &info, reinterpret_cast<void**>(&map), RTLD_DL_LINKMAP) == 0 || map == nullptr) {
    return vars;
  }
  const char* file = map->l_name != nullptr && map->l_name[0] != '\0' ? map->l_name : "/proc/self/exe";
  const int fd = open(file, O_RDONLY);
  if (fd < 0) return vars;
  struct stat st {};
  void* image = fstat(fd, &st) == 0
                    ? mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0)
                    : MAP_FAILED;
  close(fd);
  if (image == MAP_FAILED) return vars;
  const auto* base = static_cast<const char*>(image);
  const auto bytes = static_cast<std::size_t>(st.st_size);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  const bool elf64 = bytes >= sizeof(Elf64_Ehdr) && std::memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 &&
                     eh->e_ident[EI_CLASS] == ELFCLASS64 &&
                     eh->e_shoff + eh->e_shnum * sizeof(Elf64_Shdr) <= bytes && eh->e_shstrndx < eh->e_shnum;
  const auto* sections = reinterpret_cast<const Elf64_Shdr*>(base + (elf64 ? eh->e_shoff : 0));
  unsigned shared_section = 0;
  for (unsigned i = 1; elf64 && i < eh->e_shnum; ++i) {
    const char* name = base + sections[eh->e_shstrndx].sh_offset + sections[i].sh_name;
    if (std::strcmp(name, "loom_sim_shared") == 0 && sections[i].sh_size > 0) shared_section = i;
  }
  for (unsigned i = 1; elf64 && i < eh->e_shnum; ++i) {
    if (sections[i].sh_type != SHT_SYMTAB || sections[i].sh_offset + sections[i].sh_size > bytes) continue;
    const auto* syms = reinterpret_cast<const Elf64_Sym*>(base + sections[i].sh_offset);
    const char* strings = base + sections[sections[i].sh_link].sh_offset;
    for (std::size_t k = 0; k < sections[i].sh_size / sizeof(Elf64_Sym); ++k) {
      const Elf64_Sym& s = syms[k];
      if (ELF64_ST_TYPE(s.st_info) != STT_OBJECT || s.st_size == 0 || s.st_shndx >= eh->e_shnum) continue;
      const bool shared = shared_section != 0
                              ? s.st_shndx == shared_section
                              : std::strncmp(strings + s.st_name, "_ZZ", 3) == 0 &&
                                    (sections[s.st_shndx].sh_flags & SHF_WRITE) != 0;
      if (shared) vars.push_back({map->l_addr + s.st_value, s.st_size, demangle(strings + s.st_name)});
    }
  }
  munmap(image, bytes);
  std::sort(vars.begin(), vars.end(), [](const Object& a, const Object& b) { return a.addr < b.addr; });
  return vars;
}

}  // namespace loom::sim::symbols
