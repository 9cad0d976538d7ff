#!/usr/bin/env python3
"""doc/reference.md must be what `wire-node types --markdown` prints: the
option reference is generated from the option tables and must not drift.
Regenerate with: build/daemon/wire-node types --markdown > doc/reference.md"""
import subprocess
import sys

wire_node = sys.argv[1]
source = sys.argv[sys.argv.index('--source') + 1]
out = subprocess.run([wire_node, 'types', '--markdown'], check=True,
                     capture_output=True, text=True).stdout
with open(source + '/doc/reference.md') as f:
    doc = f.read()
if out != doc:
    print('doc/reference.md is out of date; regenerate it with\n'
          '  build/daemon/wire-node types --markdown > doc/reference.md')
    sys.exit(1)
print('doc/reference.md matches the option tables')
