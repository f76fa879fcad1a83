#!/usr/bin/env bash
# Lays out what herd's runtime image adds to Debian: the binaries (stripped)
# in OUT/usr/local/bin and every shared library ldd says they load, at its
# own path under OUT — nothing else (used by the Dockerfile).
#
#   scripts/image-rootfs.sh BIN_DIR OUT
set -euo pipefail
bin=$1 out=$2
mkdir -p "$out/usr/local/bin"
for b in herdd herdctl kubesim; do
  strip -o "$out/usr/local/bin/$b" "$bin/$b" 2>/dev/null || cp "$bin/$b" "$out/usr/local/bin/$b"
done
# bookworm merges /usr: /lib and /lib64 are links into /usr, so copy to the
# /usr paths (a real /lib in OUT would replace the link in the image).
usr() { case "$1" in /lib/*|/lib64/*) echo "/usr$1" ;; *) echo "$1" ;; esac; }
ldd "$out"/usr/local/bin/* | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | sort -u | while read -r lib; do
  # The name the loader looks up and the file it points to.
  real=$(realpath "$lib")
  for f in "$lib" "$real"; do
    dest="$out$(usr "$f")"
    mkdir -p "$(dirname "$dest")"
    [[ -e "$dest" || -L "$dest" ]] || cp -a "$f" "$dest"
  done
done
# CA roots for Slack and webhooks over TLS (the cluster's own CA comes
# from the service account).
mkdir -p "$out/etc/ssl/certs"
# (the build stage has them from install-deps.sh; a prebuilt image may not)
[[ -f /etc/ssl/certs/ca-certificates.crt ]] && cp /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/"
true
