package source

import (
	"context"
	"fmt"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// listAll lists every selected pod in pages of pageSize pods, trims each
// page as it arrives, and returns all the pods as one list.
//
// Left to client-go, a LIST of 150,000 pods would be one response: its first
// LIST asks for pages but with resourceVersion=0, which the API server answers
// from its watch cache ignoring the limit; its later ones (after a broken
// watch) ask for no limit at all; and its pager would gather every page,
// untrimmed, before the transform runs anyway: several times the peak memory
// of this (docs/benchmarks.md).
//
// client-go gets a list without a continue token, so its pager never pages on
// its own (nor falls back, on an expired token, to a full list that this
// would have cut to one page). In pages, resourceVersion=0 ("any") becomes a
// consistent read, as kubectl's; a given resourceVersion keeps its "not older
// than" meaning explicitly, since with a limit alone the API server reads it
// as "exactly", which fails with 410 Gone once compacted. An expired continue
// token fails the LIST with 410, and the reflector lists again from the start.
func listAll(ctx context.Context, pods corev1client.PodInterface, opts metav1.ListOptions, pageSize int64, tr *trimmer) (runtime.Object, error) {
	opts.Limit, opts.Continue = pageSize, ""
	switch {
	case opts.ResourceVersion == "0":
		opts.ResourceVersion = ""
	case opts.ResourceVersion != "" && opts.ResourceVersionMatch == "":
		opts.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
	}
	all := &metainternalversion.List{}
	for n := 1; ; n++ {
		page, err := pods.List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("page %d: %w", n, err)
		}
		if opts.Continue == "" {
			all.ResourceVersion = page.ResourceVersion // every page is of the first page's resourceVersion
		}
		for i := range page.Items {
			obj, err := tr.transform(&page.Items[i])
			if err != nil {
				return nil, fmt.Errorf("trimming pod %s/%s: %w", page.Items[i].Namespace, page.Items[i].Name, err)
			}
			all.Items = append(all.Items, obj.(runtime.Object))
		}
		if page.Continue == "" {
			return all, nil
		}
		opts.Continue, opts.ResourceVersion, opts.ResourceVersionMatch = page.Continue, "", ""
	}
}
