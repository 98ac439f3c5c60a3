# bash completion for shade(1): options, commands, and the names and
# members the server at the address on the command line exports.
_shade()
{
	local cur=${COMP_WORDS[COMP_CWORD]} i addr="" cmd="" n=0 w
	local -a opts=(--diag --diag-in --items --timeout --help)

	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--timeout) ((i++)) ;;
		-*) ;;
		*) if [[ -z $addr ]]; then addr=$w
		   elif [[ -z $cmd ]]; then cmd=$w
		   else ((n++)); fi ;;
		esac
	done
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "${opts[*]}" -- "$cur"))
		return
	fi
	# monitor LISTEN SERVER: two addresses, then nothing.
	if [[ -z $addr || ($addr == monitor && $n -eq 0) ]]; then
		COMPREPLY=($(compgen -W "unix: tcp: exec: fd:" -- "$cur"))
		[[ -z $addr ]] && COMPREPLY+=($(compgen -W monitor -- "$cur"))
		[[ $cur == unix:* ]] && COMPREPLY=($(compgen -P unix: -f -- "${cur#unix:}"))
		compopt -o nospace 2>/dev/null
		return
	fi
	[[ $addr == monitor ]] && return
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "ls describe get set call tree" -- "$cur"))
		return
	fi
	[[ $n -gt 0 || $cmd == ls ]] && return
	# NAME or NAME.MEMBER: ask the server (bounded by --timeout 2000).
	if [[ $cur == *.* ]]; then
		local obj=${cur%.*}
		COMPREPLY=($(compgen -P "$obj." -W "$(shade --timeout 2000 "$addr" \
			describe "$obj" 2>/dev/null | sed -n 's/^  \([^ ]*\).*/\1/p')" \
			-- "${cur##*.}"))
	else
		COMPREPLY=($(compgen -W "$(shade --timeout 2000 "$addr" ls 2>/dev/null)" -- "$cur"))
	fi
	compopt -o nospace 2>/dev/null
}
complete -F _shade shade
