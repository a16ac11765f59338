# tests/lib/emu.sh: a private mdcemu (tests/emulator/README.md) for the shell tests and
# scripts/demo.sh. POSIX sh; source it: it only defines functions, nothing runs.
#
#   MDCEMU=PATH                     the mdcemu binary (set it before emu_start)
#   emu_start DIR STATE [ARGS...]   copies STATE to DIR/state.json and starts mdcemu on it:
#                                   free loopback port (--port-file DIR/port), TLS files and
#                                   env in DIR/tls, extra mdcemu ARGS (--latency-ms N, ...);
#                                   stdout in DIR/emu.out, stderr in DIR/emu.err. Waits up to
#                                   15 s for "mdcemu listening on"; if it does not come (or
#                                   mdcemu exits), prints mdcemu's stderr on stderr and returns
#                                   1. Then sources DIR/tls/env (AZURE_*, MDCCTL_ARM_ENDPOINT,
#                                   MDCCTL_CA_FILE, IDENTITY_*), applies emu_guard and sets
#                                   EMU_PID, EMU_URL (https://localhost:PORT) and EMU_DIR.
#                                   A running emulator is stopped first, so calling it again
#                                   restarts on a fresh copy of STATE (a new port).
#   emu_stop                        SIGTERM and wait; returns mdcemu's exit status (0 when
#                                   none runs) and clears EMU_PID. For the EXIT trap, too.
#   emu_guard                       nothing leaves loopback and the caller's credentials do not
#                                   mix in: AZURE_POD_IDENTITY_AUTHORITY_HOST goes to a closed
#                                   port; AZURE_CLIENT_CERTIFICATE_PATH, AZURE_FEDERATED_TOKEN_FILE,
#                                   ARM_CLIENT_ID and ARM_CLIENT_SECRET are unset. (IDENTITY_*
#                                   stay: a script that must not use them unsets them itself.)
#   emu_admin METHOD PATH [JSON]    the admin API: METHOD $EMU_URL/_emulator/PATH ("state",
#                                   "faults", ...; a leading "/_emulator/" is accepted), JSON as
#                                   the body (or @FILE: the file's bytes); the answer on stdout.
#                                   Bounded (20 s); fails (curl's status) when the emulator
#                                   cannot be reached or answers an HTTP error.

emu_guard() {
	export AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:9
	unset AZURE_CLIENT_CERTIFICATE_PATH AZURE_FEDERATED_TOKEN_FILE ARM_CLIENT_ID ARM_CLIENT_SECRET
}

emu_stop() {
	if [ -z "${EMU_PID:-}" ]; then
		return 0
	fi
	kill -TERM "$EMU_PID" 2>/dev/null || true
	_emu_rc=0
	wait "$EMU_PID" 2>/dev/null || _emu_rc=$?
	EMU_PID=
	return "$_emu_rc"
}

emu_start() {
	if [ $# -lt 2 ] || [ -z "${MDCEMU:-}" ]; then
		echo "emu_start: usage: MDCEMU=BINARY emu_start DIR STATE [MDCEMU_ARGS...]" >&2
		return 1
	fi
	emu_stop || true
	EMU_DIR=$1
	mkdir -p "$EMU_DIR" || return 1
	if [ "$2" != "$EMU_DIR/state.json" ]; then
		cp "$2" "$EMU_DIR/state.json" || return 1
	fi
	shift 2
	# Cleared here, not only by the redirection below: that happens in the forked child,
	# and until it does the wait would read the previous emulator's "listening" line.
	rm -rf "$EMU_DIR/tls" "$EMU_DIR/port" "$EMU_DIR/emu.out" "$EMU_DIR/emu.err"
	"$MDCEMU" --state "$EMU_DIR/state.json" --port-file "$EMU_DIR/port" --tls-dir "$EMU_DIR/tls" \
		"$@" >"$EMU_DIR/emu.out" 2>"$EMU_DIR/emu.err" &
	EMU_PID=$!
	_emu_i=0
	until grep -q '^mdcemu listening on ' "$EMU_DIR/emu.out" 2>/dev/null; do
		_emu_i=$((_emu_i + 1))
		if [ "$_emu_i" -gt 150 ] || ! kill -0 "$EMU_PID" 2>/dev/null; then
			if kill -0 "$EMU_PID" 2>/dev/null; then
				echo "mdcemu did not start (no 'listening' line after 15 s); its stderr:" >&2
			else
				echo "mdcemu did not start (it exited); its stderr:" >&2
			fi
			cat "$EMU_DIR/emu.err" >&2
			emu_stop || true
			return 1
		fi
		sleep 0.1
	done
	# shellcheck disable=SC1091
	. "$EMU_DIR/tls/env"
	emu_guard
	EMU_URL=$MDCCTL_ARM_ENDPOINT
}

emu_admin() {
	_emu_path=${2#/}
	_emu_path=${_emu_path#_emulator/}
	if [ $# -ge 3 ]; then
		curl -sS --fail-with-body --max-time 20 --cacert "$MDCCTL_CA_FILE" -X "$1" \
			-H 'Content-Type: application/json' --data-binary "$3" "$EMU_URL/_emulator/$_emu_path"
	else
		curl -sS --fail-with-body --max-time 20 --cacert "$MDCCTL_CA_FILE" -X "$1" \
			"$EMU_URL/_emulator/$_emu_path"
	fi
}
