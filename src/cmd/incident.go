package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/pod-ashiato/ashiato/src/answer"
	"github.com/pod-ashiato/ashiato/src/history"
	"github.com/pod-ashiato/ashiato/src/readers"
)

// incidentConfig is what `ashiato history incident` was asked, validated.
type incidentConfig struct {
	kube *sharedFlags
	answer.IncidentQuery
}

func (a *app) incidentCommand(f *historyFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident (NODE | --node-selector SELECTOR) --at T [--window 30m]",
		Short: "What was on a failed node and where each pod went",
		Long:  incidentLong,
		Example: `  # what ran on worker-2 when it failed at 14:02, and where it went
  ashiato history incident worker-2 --at 2026-11-26T14:02:00Z
  # every node of a zone that failed within 30 minutes of 14:02, as JSON
  ashiato history incident --node-selector topology.kubernetes.io/zone=eu-west-1a --at 2026-11-26T14:02:00Z -o json`,
	}
	cmd.Flags().DurationVar(&f.window, "window", history.DefaultIncidentWindow, "how far before and after --at to look")
	cmd.Flags().StringVar(&f.nodeSelector, "node-selector", "", "instead of NODE: every node whose recorded labels match this label selector (e.g. topology.kubernetes.io/zone=eu-west-1a) and that failed within the window")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := f.incidentConfig(cmd, args, a.now())
		if err != nil {
			return err
		}
		return do(a, c, func(c *incidentConfig) error {
			rs, err := readers.ForPerson(cmd.Context(), &c.kube.conn, &c.kube.store, c.kube.nsGiven, historyRetry, a.stderr)
			if err != nil {
				return err
			}
			c.Where = readers.StoreName(&c.kube.store, rs)
			return answer.Incident(cmd.Context(), &c.IncidentQuery, rs, a.stdout, a.stderr)
		})
	}
	return cmd
}

// incidentConfig validates the flags and arguments of `history incident`.
func (f *historyFlags) incidentConfig(cmd *cobra.Command, args []string, now time.Time) (*incidentConfig, error) {
	c := &incidentConfig{kube: &f.kube, IncidentQuery: answer.IncidentQuery{Selector: f.nodeSelector, Window: f.window, Output: f.output}}
	if err := c.Parse(args, f.at, now); err != nil {
		return nil, err
	}
	c.S3 = f.kube.store.S3()
	return c, f.kube.parsed(cmd, "cluster")
}
