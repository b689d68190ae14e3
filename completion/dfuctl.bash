# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for dfuctl. Commands, options and job options come from
# dfuctl's own help, device names and job numbers from the daemon.

# the dfuctl being completed, on the bus the command line names
__dfuctl() {
	local dfuctl=${COMP_WORDS[0]} w
	for w in "${COMP_WORDS[@]}"; do
		[ "$w" = --session ] && set -- --session "$@"
	done
	"$dfuctl" "$@" 2>/dev/null
}

__dfuctl_commands() {
	__dfuctl --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { on = 0 }'
}

__dfuctl_options() {
	__dfuctl "$1" --help | grep -oE -- '(^|[ ,])--[a-z][a-z-]*' | sed 's/^[ ,]*//'
}

__dfuctl_jobs() {
	__dfuctl list "$@" --json | sed -n 's/.*"Id":\([0-9][0-9]*\).*/\1/p'
}

__dfuctl_devices() {
	__dfuctl devices --json | sed -n 's/.*"Name":"\([^"]*\)".*/\1/p'
}

__dfuctl_job_options() {
	echo help
	__dfuctl start -o help | sed -n 's/^  \([a-z0-9-]*\)=.*/\1=/p'
}

_dfuctl() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local cmd="" i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]} && break ;;
		esac
	done

	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "--session --version --help" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(__dfuctl_commands)" -- "$cur")
		fi
		return 0
	fi
	case $prev in
	-o | --option)
		compopt -o nospace 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -W "$(__dfuctl_job_options)" -- "$cur")
		return 0
		;;
	--keys)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return 0
		;;
	--match | --board)
		return 0
		;;
	esac
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(__dfuctl_options "$cmd")" -- "$cur")
		return 0
	fi
	case $cmd in
	start | update)
		mapfile -t COMPREPLY < <(compgen -W "$(__dfuctl_devices)" -- "$cur")
		compopt -o filenames 2>/dev/null
		mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -- "$cur")
		;;
	status)
		mapfile -t COMPREPLY < <(compgen -W "$(__dfuctl_jobs --all)" -- "$cur")
		;;
	abort)
		mapfile -t COMPREPLY < <(compgen -W "$(__dfuctl_jobs)" -- "$cur")
		;;
	watch)
		mapfile -t COMPREPLY < <(compgen -W "$(__dfuctl_jobs --all) $(__dfuctl_devices)" -- "$cur")
		;;
	info | confirm | reset | history)
		mapfile -t COMPREPLY < <(compgen -W "$(__dfuctl_devices)" -- "$cur")
		;;
	inspect)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	esac
	return 0
}
complete -F _dfuctl dfuctl
