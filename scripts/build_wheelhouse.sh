#!/usr/bin/env bash
# Build a wheelhouse for a grading server without internet, on any machine that reaches PyPI.
#
#   bash scripts/build_wheelhouse.sh [-o wheelhouse] [--python 3.12] [--arch x86_64]
#                                    [--torch SPEC] [--check-only]
#
# It downloads, for the server's Python and processor, every release pinned in
# requirements-lock.txt (binary wheels only, nothing to compile there) and checks that they
# install offline. Then copy the repository and the wheelhouse to the server and run there:
#
#   COURSE_WHEELHOUSE=wheelhouse TORCH_SPEC=system bash scripts/test.sh   # or scripts/demo.sh
#
# --torch SPEC       also download torch (e.g. torch==2.13.0, a CUDA build with its nvidia-*
#                    wheels, gigabytes); the default leaves torch to the server (TORCH_SPEC=system).
# --check-only       download nothing; only check that the wheelhouse -o names installs offline.
set -euo pipefail
cd "$(dirname "$0")/.."
out=wheelhouse python=3.12 arch=x86_64 torch="" check_only=""
while [ $# -gt 0 ]; do
  case $1 in
    -o) out=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --arch) arch=$2; shift 2 ;;
    --torch) torch=$2; shift 2 ;;
    --check-only) check_only=1; shift ;;
    *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done
platforms=()
for tag in manylinux_2_39 manylinux_2_35 manylinux_2_34 manylinux_2_31 manylinux_2_28 manylinux_2_27 \
           manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do
  platforms+=(--platform "${tag}_${arch}")
done
target=(--only-binary=:all: --implementation cp --python-version "$python" "${platforms[@]}")
# pip on this machine names its extra local indexes when they lack a package: not an error, no noise.
quiet_pip() { python3 -m pip --disable-pip-version-check "$@" 2> >(grep -v "is ignored: it is neither" >&2); }
if [ -z "$check_only" ]; then
  mkdir -p "$out"
  grep '==' requirements-lock.txt | sort > "$out/requirements.txt"
  if [ -n "$torch" ]; then echo "$torch" >> "$out/requirements.txt"; fi
  echo "downloading $(wc -l < "$out/requirements.txt") releases for CPython $python on $arch into $out/ ..."
  quiet_pip download -q --no-deps "${target[@]}" -d "$out" -r requirements-lock.txt
  [ -z "$torch" ] || quiet_pip download -q "${target[@]}" -d "$out" "$torch"  # torch with its CUDA wheels
fi
# The proof: every pinned release, and each of its needs, resolves from the wheelhouse alone.
quiet_pip install -q --dry-run --ignore-installed --no-index --find-links "$out" "${target[@]}" \
  --target "$out/.dry-run" -r "$out/requirements.txt" || { echo "the wheelhouse is incomplete (see above)" >&2; exit 1; }
rm -rf "$out/.dry-run"
echo "wheelhouse ready: $(ls "$out"/*.whl | wc -l) wheels, $(du -sh "$out" | cut -f1), resolves offline for CPython $python"
