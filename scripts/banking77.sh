#!/usr/bin/env bash
# The main job on the embedded default: build Frontdesk, install the
# sentence-embedding model (skipped with --lexical-only), import the Banking77
# FAQ and past tickets into an SQLite knowledge base, measure the assistant on
# the dev questions, and answer a few customer messages.
#
#   bash scripts/banking77.sh [--lexical-only] [DATA_FOLDER]
#                                  (default: ../shared/data/banking77)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

lexical_only=
if [ "${1:-}" = "--lexical-only" ]; then
  lexical_only=--lexical-only
  shift
fi
data=${1:-../shared/data/banking77}
export FRONTDESK_DATA_DIR=${FRONTDESK_DATA_DIR:-./frontdesk-data}
for file in kb.jsonl tickets.jsonl dev.jsonl; do
  [ -f "$data/$file" ] || { echo "error: $data/$file not found" >&2; exit 1; }
done

cargo build --release --quiet -p frontdesk
frontdesk="./target/release/frontdesk $lexical_only"

if [ -z "$lexical_only" ] && ! ./target/release/frontdesk model status >/dev/null 2>&1; then
  echo "== installing the sentence-embedding model"
  bash scripts/install-model.sh
fi

echo "== importing into $FRONTDESK_DATA_DIR"
$frontdesk import faq "$data/kb.jsonl"
$frontdesk import tickets "$data/tickets.jsonl"
$frontdesk knowledge stats

echo
echo "== evaluating on $data/dev.jsonl"
$frontdesk eval --cases "$data/dev.jsonl"

echo
echo "== answering"
for message in \
  "I still haven't received my new card, it's been two weeks" \
  "How do I top up with Apple Pay?" \
  "¿Puedo hablar con una persona?" \
  "What's the weather like in Paris?"; do
  echo "> $message"
  $frontdesk ask "$message"
  echo
done
