# bash completion for followupd. Installed as share/bash-completion/completions/followupd; every
# command and option of `followupd --help` is here (tests/cli/manual_test.cpp checks it).

_followupd() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  local commands="import demo-data customers model explain check simulate log report run preview reload copy-store unsubscribe resubscribe suppress queue"
  local global="--config --store --at --help --version"

  # The values of options.
  case $prev in
    --config)
      COMPREPLY=($(compgen -f -- "$cur"))
      return
      ;;
    --out)
      COMPREPLY=($(compgen -d -- "$cur"))
      return
      ;;
    --status)
      COMPREPLY=($(compgen -W "queued sending sent deferred failed suppressed held_out held cancelled bounced complained" -- "$cur"))
      return
      ;;
    --pid)
      COMPREPLY=($(compgen -W "$(pgrep -x followupd 2>/dev/null)" -- "$cur"))
      return
      ;;
    --store | --at | --top | --by | --since | --rule | --customer | --limit | --customers | --seed | \
      --transactions-per-customer | --start | --end | --from | --to | --reason)
      return
      ;;
  esac

  # The command: the first word that is neither an option nor an option's value.
  local command="" i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case $word in
      --config | --store | --at) ((i++)) ;;
      -*) ;;
      *)
        command=$word
        break
        ;;
    esac
  done

  local options=""
  case $command in
    "")
      if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$global" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
      fi
      return
      ;;
    import)
      options="--dry-run"
      if [[ $cur != -* ]]; then
        if [[ $prev == import ]]; then
          COMPREPLY=($(compgen -W "customers transactions" -- "$cur"))
        else
          COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return
      fi
      ;;
    demo-data) options="--out --sample --customers --seed --transactions-per-customer --start --end" ;;
    customers) options="--top --by --json" ;;
    model | explain | report) options="--json" ;;
    simulate) options="--until --json" ;;
    check) options="" ;;
    log) options="--since --rule --customer --status --limit --json" ;;
    run) options="--once" ;;
    preview) options="--customer --raw" ;;
    reload) options="--pid" ;;
    copy-store) options="--from --to" ;;
    unsubscribe | resubscribe) options="" ;;
    queue)
      if [[ $prev == queue ]]; then
        COMPREPLY=($(compgen -W "list requeue cancel hold release pause resume --rule --customer --status --limit --json" -- "$cur"))
        return
      fi
      options="--rule --customer --status --limit --json --reason"
      ;;
    suppress)
      if [[ $prev == suppress ]]; then
        COMPREPLY=($(compgen -W "add remove list" -- "$cur"))
        return
      fi
      options="--reason --json"
      ;;
  esac
  COMPREPLY=($(compgen -W "$options $global" -- "$cur"))
}
complete -F _followupd followupd
