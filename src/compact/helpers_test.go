package compact

import (
	"bytes"

	"github.com/parquet-go/parquet-go"

	"github.com/pod-ashiato/ashiato/src/table"
)

func readPlacements(raw []byte) ([]table.Placement, error) {
	return parquet.Read[table.Placement](bytes.NewReader(raw), int64(len(raw)))
}
