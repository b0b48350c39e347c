#!/usr/bin/env bash
# `npm run bench:gpu` on a lent GPU (an H200 through the device tool), in one call. See /work/shared/notes/gpu-device.md.
#
# 1. Here (a machine with node_modules and network for apt):   bash bench/gpu-device.sh prepare
#    It bundles bench/gpu.ts into .gpu/gpu.mjs with Dawn's Linux binary and a compressed node, and downloads the
#    Vulkan/EGL loader packages into .gl/ (both folders git-ignored through .git/info/exclude).
# 2. Through the device tool, with carry [".gpu", ".gl"] and timeout_s 540:
#        bash bench/gpu-device.sh run
#    It prints (and writes to $OUT) the WGSL table for gru, lstm and lstm-peephole at the four shapes of issue 13,
#    every shipped cell at (256, 256, 1024), the standalone GEMM at 4096², and cuDNN's GRU and LSTM as the anchor.
#    Each stage has its own time limit, so a slow stage costs only itself.
set -uo pipefail
cd "$(dirname "$0")/.."

prepare() {
  set -e
  ex="$(git rev-parse --git-path info/exclude)"; mkdir -p "$(dirname "$ex")"
  for d in /.gpu/ /.gl/; do grep -qxF "$d" "$ex" 2>/dev/null || echo "$d" >>"$ex"; done
  rm -rf .gpu && mkdir -p .gpu/node_modules/webgpu/dist
  npx esbuild bench/gpu.ts --bundle --platform=node --format=esm --external:webgpu --outfile=.gpu/gpu.mjs \
    --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" --log-level=warning
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json .gpu/node_modules/webgpu/
  cp -r node_modules/webgpu/dist/linux-x64 .gpu/node_modules/webgpu/dist/
  xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >.gpu/node.xz
  if [ ! -d .gl ] || ! ls .gl/*.deb >/dev/null 2>&1; then
    mkdir -p .gl /tmp/amd64/partial
    o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
    apt-get $o update >/dev/null
    (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
  fi
  du -sh .gpu .gl
}

run() {
  local out="${OUT:-/tmp/gpu-out}"
  mkdir -p "$out"
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  export XDG_RUNTIME_DIR=/tmp
  python3 -c "import lzma,shutil; shutil.copyfileobj(lzma.open('.gpu/node.xz'), open('/tmp/node','wb'))" && chmod +x /tmp/node
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
  # The bundle resolves webgpu from .gpu/node_modules and reads cells/ and templates/ from the working tree.
  local bench=(/tmp/node --max-old-space-size=32000 .gpu/gpu.mjs --backend vulkan --full)
  timeout 200 "${bench[@]}" --cells gru,lstm,lstm-peephole --reps 5 --gemm 4096 2>&1 | tee "$out/wgsl-gru-lstm.md"
  timeout 150 "${bench[@]}" --shapes 256x256x1024 --reps 2 --gemm 1024 2>&1 | tee "$out/wgsl-all-cells.md"
  PYTHONUNBUFFERED=1 timeout 90 python3 bench/cudnn.py 2>&1 | tee "$out/cudnn.md"
}

case "${1:-}" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: bash bench/gpu-device.sh prepare|run" >&2; exit 2 ;;
esac
