#!/usr/bin/env bash
# backup.sh: take one backup of a running Countersign and ship it off the host.
#
# GET /backup (bearer audit.token) answers a consistent hot copy of the
# bbolt database while the bot keeps running. This script fetches it under
# a dated name into BACKUP_DIR, checks it, copies it to BACKUP_DEST and
# keeps the newest BACKUP_KEEP copies in BACKUP_DIR. Any failure exits 1
# with a message on stderr and leaves no partial copy behind; run it from
# a systemd timer or cron so that a failure is seen (deploy/README.md).
#
# Environment:
#   COUNTERSIGN_URL         the bot (default http://127.0.0.1:8080, the stack's published port)
#   COUNTERSIGN_TOKEN_FILE  a file holding audit.token (required; keep it mode 0600)
#   BACKUP_DIR              copies kept on this host (default /var/backups/countersign)
#   BACKUP_KEEP             how many copies BACKUP_DIR keeps (default 14)
#   BACKUP_DEST             where each copy goes: [user@]host:dir/ (rsync, else scp) or a
#                           directory (a mounted remote disk). Empty: the copy stays here,
#                           with a warning
#   COUNTERSIGN_BIN         a countersign binary to check the copy with `audit verify`
#                           (default: countersign on PATH; without one only the file's
#                           bbolt header is checked)
#   BACKUP_TEXTFILE         optional: a node_exporter textfile-collector file to write
#                           countersign_backup_last_success_timestamp_seconds to
#   BACKUP_MAX_TIME         seconds the download may take (default 600)
set -euo pipefail

die() {
	printf 'countersign backup: %s\n' "$*" >&2
	exit 1
}
say() { printf 'countersign backup: %s\n' "$*"; }

url=${COUNTERSIGN_URL:-http://127.0.0.1:8080}
url=${url%/}
token_file=${COUNTERSIGN_TOKEN_FILE:-}
dir=${BACKUP_DIR:-/var/backups/countersign}
keep=${BACKUP_KEEP:-14}
dest=${BACKUP_DEST:-}
max_time=${BACKUP_MAX_TIME:-600}

[ -n "$token_file" ] || die "COUNTERSIGN_TOKEN_FILE is not set: it names a file holding audit.token"
[ -r "$token_file" ] || die "cannot read the audit token file $token_file"
[[ $keep =~ ^[1-9][0-9]*$ ]] || die "BACKUP_KEEP must be a whole number of at least 1, not \"$keep\""
[[ $max_time =~ ^[1-9][0-9]*$ ]] || die "BACKUP_MAX_TIME must be a whole number of seconds, not \"$max_time\""
command -v curl >/dev/null || die "curl is not installed"

umask 077
mkdir -p "$dir" || die "cannot create $dir"
exec 9>"$dir/.lock"
flock -n 9 || die "another backup is running (it holds $dir/.lock)"

name="countersign-$(date -u +%Y%m%dT%H%M%SZ).db"
[ ! -e "$dir/$name" ] || die "$dir/$name exists already"
tmp=$(mktemp "$dir/.partial.XXXXXX") || die "cannot write in $dir"
trap 'rm -f "$tmp" "$tmp.verify"' EXIT

# The token reaches curl on a file descriptor, not on its command line,
# which every user of the host can read.
token=$(<"$token_file")
token=${token%$'\r'}
[ -n "$token" ] || die "the audit token file $token_file is empty"
if ! curl --fail --silent --show-error --max-time "$max_time" \
	-H @<(printf 'Authorization: Bearer %s\n' "$token") \
	-o "$tmp" "$url/backup"; then
	die "GET $url/backup failed (see curl's message above); no copy was written"
fi
unset token

size=$(wc -c <"$tmp")
[ "$size" -gt 0 ] || die "GET $url/backup answered an empty body"
# A bbolt file starts with a meta page: a 16-byte page header, then the
# magic 0xED0CDAED (little-endian).
magic=$(od -An -tx1 -j16 -N4 "$tmp" | tr -d ' \n')
[ "$magic" = "edda0ced" ] || die "what GET $url/backup answered is not a bbolt database (magic \"$magic\")"

bin=${COUNTERSIGN_BIN:-$(command -v countersign || true)}
if [ -n "$bin" ]; then
	if ! "$bin" audit verify --db "$tmp" >"$tmp.verify" 2>&1; then
		cat "$tmp.verify" >&2
		die "the copy's audit trail does not verify; it was not kept"
	fi
	verified=$(tr '\n' ' ' <"$tmp.verify")
else
	verified="(not verified: no countersign binary; set COUNTERSIGN_BIN)"
fi

mv "$tmp" "$dir/$name" || die "cannot move the copy to $dir/$name"
sum=$(sha256sum "$dir/$name" | cut -d' ' -f1)
say "wrote $dir/$name ($size bytes, sha256 $sum) $verified"

if [ -n "$dest" ]; then
	if command -v rsync >/dev/null; then
		rsync --times "$dir/$name" "$dest" || die "rsync to $dest failed; the copy is in $dir/$name"
	else
		scp -pq "$dir/$name" "$dest" || die "scp to $dest failed; the copy is in $dir/$name"
	fi
	say "shipped $name to $dest"
else
	printf 'countersign backup: warning: BACKUP_DEST is not set: the copy stays on this host only\n' >&2
fi

# Prune only once the new copy is safe, newest first by name (the names
# sort by time).
ls -1 "$dir" | { grep -E '^countersign-[0-9]{8}T[0-9]{6}Z\.db$' || true; } | sort -r | tail -n +"$((keep + 1))" |
	while read -r old; do
		rm -f -- "${dir:?}/$old"
	done

# For an alert on backups that stopped happening (the timer itself gone,
# the host down), which no failure message reports.
if [ -n "${BACKUP_TEXTFILE:-}" ]; then
	{
		printf '# HELP countersign_backup_last_success_timestamp_seconds When deploy/backup.sh last succeeded.\n'
		printf '# TYPE countersign_backup_last_success_timestamp_seconds gauge\n'
		printf 'countersign_backup_last_success_timestamp_seconds %s\n' "$(date +%s)"
	} >"$BACKUP_TEXTFILE.$$" && chmod 0644 "$BACKUP_TEXTFILE.$$" && mv "$BACKUP_TEXTFILE.$$" "$BACKUP_TEXTFILE" ||
		die "cannot write $BACKUP_TEXTFILE"
fi
