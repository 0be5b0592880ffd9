package table

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/format"
)

// pageWindow is the zstd window: a page is compressed on its own and is a
// few hundred KiB at most, so a larger window finds nothing more and only
// costs memory (the library's default codec holds 32 MiB of history per
// encoder, for as long as the process lives).
const pageWindow = 1 << 20

// zstdCodec is zstd for one writer: its encoder lives as long as the file
// being written. Its level and window are fixed, so a page always
// compresses to the same bytes.
type zstdCodec struct {
	once sync.Once
	enc  *zstd.Encoder
	dec  *zstd.Decoder
	err  error
}

var _ compress.Codec = (*zstdCodec)(nil)

func (c *zstdCodec) String() string                            { return "ZSTD" }
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) init() {
	c.once.Do(func() {
		c.enc, c.err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(pageWindow), zstd.WithLowerEncoderMem(true), zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false))
		if c.err == nil {
			c.dec, c.err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		}
	})
}

// Encode compresses src into dst (EncodeAll is safe for concurrent use).
func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	if c.init(); c.err != nil {
		return dst[:0], c.err
	}
	return c.enc.EncodeAll(src, dst[:0]), nil
}

// Decode decompresses src into dst.
func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	if c.init(); c.err != nil {
		return dst[:0], c.err
	}
	return c.dec.DecodeAll(src, dst[:0])
}
