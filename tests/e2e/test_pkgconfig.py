#!/usr/bin/env python3
"""pkg-config metadata and linking a program against the built libwire.

- meson-uninstalled/wire-uninstalled.pc: `pkg-config --cflags --libs
  wire-uninstalled` works, and a C11 program compiled with exactly those
  flags links, runs (with the build's lib dir on LD_LIBRARY_PATH) and prints
  wire_version_string(), equal to the header macros and to `pkg-config
  --modversion`;
- meson-private/wire.pc (the file that gets installed) is valid and names
  the same version;
- the shared library exports only wire_* symbols (-fvisibility=hidden).
"""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wiretest import Checks, TempDir, expect, fail, parse_args, run, sanitizer_flags  # noqa: E402

PROGRAM = r'''
#include <stdio.h>
#include <string.h>
#include <wire/wire.h>

int main(void) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", WIRE_VERSION_MAJOR, WIRE_VERSION_MINOR,
           WIRE_VERSION_PATCH);
  const char *v = wire_version_string();
  if (strcmp(v, want) != 0 || wire_version() != WIRE_VERSION_NUMBER) {
    fprintf(stderr, "library %s (%d) != headers %s (%d)\n", v, wire_version(), want,
            WIRE_VERSION_NUMBER);
    return 1;
  }
  wire_ctx *ctx = NULL;
  if (wire_ctx_new(&ctx) != WIRE_OK) return 2;
  size_t nsrc = wire_ctx_type_count(ctx, WIRE_NODE_SOURCE);
  wire_ctx_free(ctx);
  printf("version %s sources %zu %s\n", v, nsrc, wire_err_name(WIRE_EIO));
  return 0;
}
'''


def pkgconfig(args, *argv):
    env = dict(os.environ)
    env['PKG_CONFIG_PATH'] = os.path.join(args.build, 'meson-uninstalled')
    p = subprocess.run(['pkg-config'] + list(argv), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, timeout=30)
    return p.returncode, p.stdout.decode().strip(), p.stderr.decode().strip()


def check_uninstalled(args, d):
    expect(shutil.which('pkg-config'), 'pkg-config is not installed')
    pc = os.path.join(args.build, 'meson-uninstalled', 'wire-uninstalled.pc')
    expect(os.path.exists(pc), '%s does not exist' % pc)
    rc, flags, err = pkgconfig(args, '--cflags', '--libs', 'wire-uninstalled')
    expect(rc == 0, 'PKG_CONFIG_PATH=%s pkg-config --cflags --libs wire-uninstalled failed: %s' % (
        os.path.dirname(pc), err))
    print('   flags: %s' % flags)
    expect('-lwire' in flags.split(), 'no -lwire in %r' % flags)
    rc, ver, err = pkgconfig(args, '--modversion', 'wire-uninstalled')
    expect(rc == 0 and re.match(r'^\d+\.\d+\.\d+$', ver), 'modversion: %r %s' % (ver, err))
    src = os.path.join(d, 'prog.c')
    with open(src, 'w') as f:
        f.write(PROGRAM)
    exe = os.path.join(d, 'prog')
    cc = shutil.which('cc') or 'cc'
    cmd = [cc, '-std=c11', '-pedantic', '-Wall', '-Wextra', '-Werror', src, '-o', exe] + \
        sanitizer_flags(args.build) + flags.split()
    r = run(cmd, timeout=120)
    expect(r.rc == 0, 'compiling and linking with the pkg-config flags failed\n%s' % r.describe())
    env = dict(os.environ)
    libdirs = [f[2:] for f in flags.split() if f.startswith('-L')]
    env['LD_LIBRARY_PATH'] = ':'.join(libdirs + [env.get('LD_LIBRARY_PATH', '')])
    p = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=30)
    out = p.stdout.decode().strip()
    expect(p.returncode == 0, 'program linked against libwire exited %d: %s %s' % (
        p.returncode, out, p.stderr.decode()))
    m = re.match(r'^version (\S+) sources (\d+) WIRE_EIO$', out)
    expect(m, 'unexpected program output %r' % out)
    expect(m.group(1) == ver, 'wire_version_string() %s != pkg-config --modversion %s' % (m.group(1), ver))
    expect(int(m.group(2)) >= 3, 'only %s source types registered (file, generator, stdin expected)' % m.group(2))
    print('   program output: %s' % out)


def check_installed_pc(args, d):
    pc = os.path.join(args.build, 'meson-private', 'wire.pc')
    expect(os.path.exists(pc), '%s does not exist' % pc)
    text = open(pc).read()
    expect(re.search(r'^Name: wire$', text, re.M), 'wire.pc has no "Name: wire":\n%s' % text)
    expect(re.search(r'^Libs: .*-lwire', text, re.M), 'wire.pc has no -lwire:\n%s' % text)
    rc, ver, err = pkgconfig(args, '--modversion', 'wire-uninstalled')
    expect(re.search(r'^Version: %s$' % re.escape(ver), text, re.M),
           'wire.pc version differs from the uninstalled one (%s):\n%s' % (ver, text))
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.dirname(pc))
    p = subprocess.run(['pkg-config', '--validate', 'wire'], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    expect(p.returncode == 0, 'pkg-config --validate wire: %s' % p.stdout.decode())
    p = subprocess.run(['pkg-config', '--cflags', '--libs', 'wire'], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    expect(p.returncode == 0, 'pkg-config --cflags --libs wire (its Requires.private must resolve): %s' %
           p.stdout.decode())


def check_exports(args, d):
    nm = shutil.which('nm')
    expect(nm, 'nm not found')
    lib = None
    for root, _, files in os.walk(os.path.join(args.build, 'lib')):
        for f in files:
            if re.match(r'^libwire\.so\.\d+\.\d+\.\d+$', f):
                lib = os.path.join(root, f)
    expect(lib, 'no libwire.so.X.Y.Z under %s/lib' % args.build)
    p = subprocess.run([nm, '-D', '--defined-only', lib], stdout=subprocess.PIPE)
    syms = []
    for l in p.stdout.decode().splitlines():
        parts = l.split()
        if len(parts) == 3 and parts[1] in 'TDBRVWi':
            syms.append(parts[2])
    expect(syms, 'no exported symbols in %s' % lib)
    bad = [s for s in syms if not s.startswith('wire_') and not s.startswith('_')]
    expect(not bad, '%s exports %d non-wire_ symbols (visibility leak), e.g. %s' % (
        os.path.basename(lib), len(bad), sorted(bad)[:20]))
    print('   %s exports %d symbols, all wire_*' % (os.path.basename(lib), len(syms)))


def main():
    args = parse_args()
    c = Checks('pkg-config and linking')
    with TempDir('pkgconfig') as d:
        c.run('wire-uninstalled.pc: compile, link and run a C program', check_uninstalled, args, d)
        c.run('meson-private/wire.pc is valid', check_installed_pc, args, d)
        c.run('libwire.so exports only wire_* symbols', check_exports, args, d)
    c.finish()


if __name__ == '__main__':
    main()
