#!/usr/bin/env python3
"""Embeds the dashboard's files in ivrd: writes a C file with one dash_asset per input.

Usage: gen_assets.py OUT.c FILE...  (run by meson; the daemon needs no files at run time)
"""
import os
import sys

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


def main():
    out, files = sys.argv[1], sys.argv[2:]
    lines = ['#include "assets.h"', ""]
    table = []
    for i, path in enumerate(sorted(files, key=os.path.basename)):
        name = os.path.basename(path)
        ext = os.path.splitext(name)[1]
        if ext not in TYPES:
            sys.exit(f"gen_assets.py: {name}: no content type for {ext!r}")
        data = open(path, "rb").read()
        lines.append(f"static const unsigned char a{i}[] = {{")
        for off in range(0, len(data), 16):
            lines.append("\t" + " ".join(f"0x{b:02x}," for b in data[off:off + 16]))
        lines.append("\t0x00,\n};")
        table.append(f'\t{{"{name}", "{TYPES[ext]}", a{i}, {len(data)}}},')
    lines.append("")
    lines.append("const struct dash_asset dash_assets[] = {")
    lines += table
    lines.append("\t{NULL, NULL, NULL, 0},")
    lines.append("};")
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
