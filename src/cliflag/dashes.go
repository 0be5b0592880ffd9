package cliflag

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// LongDashes gives the subcommands' long flags written with one dash, as
// package flag took them before the subcommands moved to cobra (serve
// -addr :8080), their second dash (--addr). The recorder parses its own.
func LongDashes(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == root {
		return args
	}
	cmd.InitDefaultHelpFlag()
	out := slices.Clone(args)
	for i, arg := range out {
		if arg == "--" {
			break
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(arg, "-"), "=")
		if len(name) > 1 && arg[0] == '-' && arg[1] != '-' && cmd.Flag(name) != nil {
			out[i] = "-" + arg
		}
	}
	return out
}
