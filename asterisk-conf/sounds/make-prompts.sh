#!/usr/bin/env bash
# make-prompts.sh regenerates siaga112's voice prompts from the text files
# next to it:
#
#   prompts.id.txt -> id/siaga112/<key>.wav   (Indonesian, the default)
#   prompts.en.txt -> en/siaga112/<key>.wav   (English)
#
# The WAV files are committed, so nobody needs espeak-ng or sox to run
# siaga112; only whoever changes a text runs this script (then commits the
# result). Output is what Asterisk plays without transcoding on a telephone
# line: 8 kHz, mono, 16-bit signed PCM WAV.
#
# Usage: ./make-prompts.sh [LANG...]      (default: every prompts.*.txt)
# Environment: SPEED (words per minute, default 165: every second of a
# prompt is a second a caller in need waits), PITCH (0-99, default 45).
#
# The script is idempotent: a WAV is only rewritten when its content changes,
# so running it twice leaves git clean. WAVs of keys removed from a text file
# are deleted, because the siaga112/ folders belong to this script alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
speed="${SPEED:-165}"
pitch="${PITCH:-45}"

die() { echo "make-prompts: $*" >&2; exit 1; }

for tool in espeak-ng sox; do
	command -v "$tool" >/dev/null 2>&1 ||
		die "$tool is not installed (Debian/Ubuntu: apt-get install -y espeak-ng sox)"
done

# espeak-ng voice for each language file. Keep the keys equal to the
# Asterisk language codes, which are also the folder names.
declare -A voices=([id]=id [en]=en-gb)

langs=("$@")
if [ "${#langs[@]}" -eq 0 ]; then
	for f in "$here"/prompts.*.txt; do
		[ -e "$f" ] || die "no prompts.*.txt in $here"
		l="${f##*/prompts.}"
		langs+=("${l%.txt}")
	done
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

total=0
for lang in "${langs[@]}"; do
	src="$here/prompts.$lang.txt"
	[ -f "$src" ] || die "$src not found"
	voice="${voices[$lang]:-$lang}"
	out="$here/$lang/siaga112"
	mkdir -p "$out"
	declare -A seen=()
	n=0
	lineno=0
	while IFS= read -r line || [ -n "$line" ]; do
		lineno=$((lineno + 1))
		case "$line" in '' | '#'*) continue ;; esac
		key="${line%%|*}"
		text="${line#*|}"
		[ "$key" != "$line" ] || die "$src:$lineno: expected key|text"
		[[ "$key" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "$src:$lineno: bad key \"$key\" (use a-z, 0-9 and -)"
		[ -n "$text" ] || die "$src:$lineno: empty text for $key"
		[ -z "${seen[$key]:-}" ] || die "$src:$lineno: duplicate key $key"
		seen[$key]=1

		printf '%s\n' "$text" >"$tmp/text"
		espeak-ng -v "$voice" -s "$speed" -p "$pitch" -f "$tmp/text" -w "$tmp/raw.wav"
		# Resample to 8 kHz mono 16-bit, trim the silence espeak-ng puts before
		# and after speech (a caller should not wait for nothing), then leave a
		# short pad so the first syllable is not clipped when media starts and
		# prompts read back to back do not run together. gain -n -3 normalises
		# every prompt to the same loudness with headroom for the codec.
		# -D (no dither) and -R (fixed seed) make the output byte-for-byte
		# repeatable, which is what keeps reruns from touching git.
		sox -q -D -R "$tmp/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$tmp/new.wav" \
			silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
			gain -n -3 pad 0.05 0.15

		dst="$out/$key.wav"
		if ! cmp -s "$tmp/new.wav" "$dst"; then
			mv "$tmp/new.wav" "$dst"
			echo "wrote $lang/siaga112/$key.wav ($(soxi -D "$dst") s)"
		fi
		n=$((n + 1))
	done <"$src"
	[ "$n" -gt 0 ] || die "$src has no prompts"

	for f in "$out"/*.wav; do
		[ -e "$f" ] || continue
		k="${f##*/}"
		k="${k%.wav}"
		if [ -z "${seen[$k]:-}" ]; then
			rm -f "$f"
			echo "removed $lang/siaga112/$k.wav (no longer in prompts.$lang.txt)"
		fi
	done
	unset seen
	total=$((total + n))
	echo "$lang: $n prompts up to date in $out"
done
echo "done: $total prompts"
