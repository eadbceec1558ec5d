#!/usr/bin/env python3
"""Copies the table of the latest bench/results/*.md into README's Performance section."""
import glob, re
latest = sorted(glob.glob('bench/results/*.md'))[-1]
text = open(latest).read().split('\n')
rows = [l for l in text if l.startswith('|')]
header = text[1] if len(text) > 1 else ''
readme = open('README.md').read()
start = readme.index('<!-- bench-table-start -->')
end = readme.index('<!-- bench-table-end -->')
block = '<!-- bench-table-start -->\n' + f'From `{latest}` — {header}\n\n' + '\n'.join(rows) + '\n'
open('README.md', 'w').write(readme[:start] + block + readme[end:])
print('README table from', latest)
