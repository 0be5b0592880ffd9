package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
)

// reportOnly merges saved results and reports them as a run would: the
// 150,000-pod one-shot runs and the long watch soak are measured in separate
// runs (each takes its own hour), and the docs show them together. Sizes come
// out ascending; a size found in several files keeps the later file's.
func reportOnly(cfg *config, stdout io.Writer) error {
	merged, err := mergeResults(cfg.report)
	if err != nil {
		return err
	}
	for _, s := range merged.Sizes {
		fmt.Fprintln(stdout, sizeTables(s, &config{runs: runsOf(s)}))
	}
	fmt.Fprintln(stdout, targetsTable(merged.Targets))
	if cfg.out != "" {
		data, err := json.MarshalIndent(merged, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(cfg.out, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	if cfg.plot != "" {
		return writePlot(cfg.plot, merged.Sizes)
	}
	return nil
}

func mergeResults(paths []string) (results, error) {
	var merged results
	bySize := map[int]sizeResult{}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return merged, err
		}
		var r results
		if err := json.Unmarshal(data, &r); err != nil {
			return merged, fmt.Errorf("%s: %w", path, err)
		}
		merged.Machine = r.Machine
		if merged.Command != "" {
			merged.Command += " && "
		}
		merged.Command += r.Command
		for _, s := range r.Sizes {
			bySize[s.Pods] = s
		}
	}
	for _, s := range bySize {
		merged.Sizes = append(merged.Sizes, s)
	}
	slices.SortFunc(merged.Sizes, func(a, b sizeResult) int { return a.Pods - b.Pods })
	merged.Targets = judge(merged.Sizes)
	return merged, nil
}

// runsOf is the most runs any program was measured with at one size.
func runsOf(s sizeResult) int {
	n := 1
	for _, p := range []*program{s.Floor, s.Paginated, s.Oneshot, s.Kubectl, s.StoreNew, s.StoreExisting} {
		if p != nil {
			n = max(n, len(p.WallS.Runs))
		}
	}
	return n
}
