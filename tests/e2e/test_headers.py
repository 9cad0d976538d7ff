#!/usr/bin/env python3
"""Public headers: self-contained C11, usable from C++11, consistent.

- every include/wire/*.h compiles alone (and included twice) as C11 with
  -std=c11 -pedantic -Wall -Wextra -Wstrict-prototypes -Werror, with gcc and
  clang when available;
- every header alone, and <wire/wire.h> with a small program using the API,
  compile as C++11 with -pedantic -Wall -Wextra -Werror (c++ and clang++);
- compiled to an object, that C++ program references the library functions
  by their C names (extern "C" is in place: no mangled wire_ symbols);
- wire.h includes every public header and include/wire/meson.build installs
  every one of them.
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wiretest import Checks, TempDir, expect, fail, parse_args  # noqa: E402

C_FLAGS = ['-std=c11', '-pedantic', '-Wall', '-Wextra', '-Wstrict-prototypes', '-Wshadow', '-Werror']
CXX_FLAGS = ['-std=c++11', '-pedantic', '-Wall', '-Wextra', '-Werror']

CXX_PROGRAM = r'''
#include <wire/wire.h>
#include <wire/wire.h>

#include <cstdio>

static_assert(WIRE_OK == 0, "WIRE_OK is 0");
static_assert(WIRE_VERSION_NUMBER >= 100, "version macros");

namespace {
int my_process(void *, wire_stage *st, const wire_batch *in, wire_emitter *out) {
  for (size_t i = 0; i < wire_batch_count(in); i++)
    if (wire_emit_forward(out, 0, wire_batch_event(in, i)) != WIRE_OK) {
      wire_stage_reject(st, wire_batch_event(in, i), nullptr, 0, "full");
    }
  return WIRE_OK;
}
int my_init(const wire_config *cfg, void **shared) {
  *shared = nullptr;
  const char *s = nullptr;
  return wire_config_string(cfg, "x", &s) == WIRE_EINVAL ? WIRE_ECONFIG : WIRE_OK;
}
}  // namespace

int main() {
  wire_op_vtable op{};
  op.version = WIRE_OP_VERSION;
  op.name = "cxx_forward";
  op.init = my_init;
  op.process = my_process;
  wire_source_vtable src{};
  src.version = WIRE_SOURCE_VERSION;
  wire_sink_vtable snk{};
  snk.version = WIRE_SINK_VERSION;
  (void)src;
  (void)snk;
  wire_ctx *ctx = nullptr;
  if (wire_ctx_new(&ctx) != WIRE_OK) return 1;
  wire_ctx_register_op(ctx, &op, nullptr);
  wire_ctx_set_log(ctx, WIRE_LOG_WARN, nullptr, nullptr);
  wire_pipeline *p = nullptr;
  wire_pipeline_new(ctx, "cxx", &p);
  wire_pipeline_add(p, WIRE_NODE_SOURCE, "gen", "generator", nullptr, "{count: 10}");
  wire_pipeline_set(p, "partitions", "2");
  wire_diag d{};
  (void)d;
  wire_node_stats s{};
  (void)s;
  char id[37];
  uint8_t raw[16] = {0};
  wire_uuid_format(raw, id);
  std::printf("%s %s %s %s\n", wire_version_string(), wire_strerror(WIRE_ENOMEM),
              wire_err_name(WIRE_EIO), wire_log_level_name(WIRE_LOG_INFO));
  wire_pipeline_free(p);
  wire_ctx_free(ctx);
  return 0;
}
'''


def compilers(kind):
    names = ['cc', 'gcc', 'clang'] if kind == 'c' else ['c++', 'g++', 'clang++']
    found, seen = [], set()
    for n in names:
        p = shutil.which(n)
        if p and os.path.realpath(p) not in seen:
            seen.add(os.path.realpath(p))
            found.append(p)
    return found


def compile_(cmd):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    return p.returncode, p.stdout.decode('utf-8', 'replace')


def headers(args):
    inc = os.path.join(args.source, 'include', 'wire')
    hs = sorted(f for f in os.listdir(inc) if f.endswith('.h'))
    expect(hs, 'no headers in %s' % inc)
    return hs


def check_alone(args, d, lang):
    inc = os.path.join(args.source, 'include')
    ccs = compilers(lang)
    expect(ccs, 'no %s compiler found' % lang)
    bad = []
    for cc in ccs:
        nbad = len(bad)
        for h in headers(args):
            src = os.path.join(d, 'alone_%s.%s' % (h[:-2], 'c' if lang == 'c' else 'cpp'))
            with open(src, 'w') as f:
                f.write('#include <wire/%s>\n#include <wire/%s>\ntypedef int wire_e2e_not_empty;\n' % (h, h))
            flags = C_FLAGS if lang == 'c' else CXX_FLAGS
            rc, out = compile_([cc] + flags + ['-I' + inc, '-fsyntax-only', src])
            if rc != 0:
                bad.append('%s %s wire/%s:\n%s' % (os.path.basename(cc), ' '.join(flags), h, out))
        print('   %s: %d of %d headers compile alone' % (
            os.path.basename(cc), len(headers(args)) - (len(bad) - nbad), len(headers(args))))
    if bad:
        fail('headers that are not self-contained %s:\n%s' % (
            'C11' if lang == 'c' else 'C++11', '\n'.join(bad)))


def check_cxx_program(args, d):
    inc = os.path.join(args.source, 'include')
    src = os.path.join(d, 'use.cpp')
    with open(src, 'w') as f:
        f.write(CXX_PROGRAM)
    for cxx in compilers('cxx'):
        rc, out = compile_([cxx] + CXX_FLAGS + ['-I' + inc, '-fsyntax-only', src])
        expect(rc == 0, '%s -std=c++11 -pedantic -Werror on a program using <wire/wire.h>:\n%s' % (cxx, out))
        obj = os.path.join(d, 'use.%s.o' % os.path.basename(cxx))
        rc, out = compile_([cxx] + CXX_FLAGS + ['-I' + inc, '-c', src, '-o', obj])
        expect(rc == 0, '%s -c failed:\n%s' % (cxx, out))
        nm = shutil.which('nm')
        if not nm:
            continue
        syms = subprocess.run([nm, '-u', obj], stdout=subprocess.PIPE).stdout.decode()
        und = [l.split()[-1] for l in syms.splitlines() if l.strip()]
        mangled = [s for s in und if s.startswith('_Z') and 'wire_' in s]
        plain = [s for s in und if s.startswith('wire_')]
        expect(not mangled, 'wire_ functions referenced with C++ mangled names (missing extern "C"): %s' % mangled)
        expect(len(plain) >= 15, 'expected the C names of the API in the object, found %s' % plain)
        print('   %s: compiles, %d wire_ symbols with C linkage' % (os.path.basename(cxx), len(plain)))


def check_umbrella(args, d):
    hs = headers(args)
    umbrella = open(os.path.join(args.source, 'include', 'wire', 'wire.h')).read()
    included = set(re.findall(r'#include\s+"([^"]+)"', umbrella))
    missing = [h for h in hs if h != 'wire.h' and h not in included]
    expect(not missing, 'wire.h does not include %s' % missing)
    mb = open(os.path.join(args.source, 'include', 'wire', 'meson.build')).read()
    installed = set(re.findall(r"'([^']+\.h)'", mb))
    missing = [h for h in hs if h not in installed]
    expect(not missing, 'include/wire/meson.build does not install %s' % missing)


def main():
    args = parse_args()
    c = Checks('public headers')
    with TempDir('headers') as d:
        c.run('each header alone: C11 -pedantic -Werror', check_alone, args, d, 'c')
        c.run('each header alone: C++11 -pedantic -Werror', check_alone, args, d, 'cxx')
        c.run('C++11 program on <wire/wire.h> (-fsyntax-only, extern "C")', check_cxx_program, args, d)
        c.run('wire.h includes and meson installs every header', check_umbrella, args, d)
    c.finish()


if __name__ == '__main__':
    main()
