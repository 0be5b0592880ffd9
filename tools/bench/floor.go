package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// floorCommand is the hidden subcommand the benchmark re-executes itself with
// to measure a bare read of every pod: client-go's List, decoded into typed
// pods, then discarded (no records, no output but the count). With
// --page-size 0 and --content json it is the read the original tool makes (one
// LIST without a limit, client-go's default JSON), the floor ashiato --oneshot
// is judged against; with a page size and protobuf, a paginated read.
const floorCommand = "floor"

func runFloor(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(floorCommand, flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster")
	pageSize := fs.Int64("page-size", 0, "pods per LIST request; 0: one LIST without a limit")
	content := fs.String("content", "json", "json (client-go's default, as the original tool) or protobuf")
	qps := fs.Float64("qps", 50, "client-side request rate limit (ashiato's --kube-api-qps)")
	burst := fs.Int("burst", 100, "client-side burst (ashiato's --kube-api-burst)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	switch *content {
	case "json":
	case "protobuf": // what src/cmd/kube.go sets
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	default:
		return fmt.Errorf("floor: invalid --content %q: want json or protobuf", *content)
	}
	cfg.QPS = float32(*qps)
	cfg.Burst = *burst
	cfg.UserAgent = "ashiato-bench-floor"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	n, cont := 0, ""
	for {
		list, err := client.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: *pageSize, Continue: cont})
		if err != nil {
			return fmt.Errorf("floor: list pods: %w", err)
		}
		n += len(list.Items)
		if cont = list.Continue; cont == "" {
			break
		}
	}
	_, err = fmt.Fprintln(stdout, n)
	return err
}
