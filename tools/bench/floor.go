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
// to measure the floor: the least any program that reads every pod must do.
// It is the same paginated LIST ashiato --oneshot makes (protobuf, 500 pods a
// page, ashiato's default client-side rate limit), decoded into typed pods the
// same way, and then discarded: no records, no JSON, no output but the count.
const floorCommand = "floor"

func runFloor(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet(floorCommand, flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig of the cluster")
	pageSize := fs.Int64("page-size", 500, "pods per LIST request (ashiato's --page-size)")
	qps := fs.Float64("qps", 50, "client-side request rate limit (ashiato's --kube-api-qps)")
	burst := fs.Int("burst", 100, "client-side burst (ashiato's --kube-api-burst)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	// What src/cmd/kube.go sets.
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
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
