package main

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
)

// writeSoakPlot draws the soak over time: RSS, the requests made, the bytes
// written, in three panels with linear axes.
func writeSoakPlot(path string, r *soakResult) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, renderSoakPlot(r)); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

var (
	colHWM   = color.RGBA{148, 103, 189, 255}
	colReads = color.RGBA{214, 39, 40, 255}
)

func soakSeries(r *soakResult, name string, c color.RGBA, dash bool, get func(soakSample) float64) plotSeries {
	s := plotSeries{name: name, color: c, dash: dash}
	for _, x := range r.Samples {
		y := get(x)
		s.pts = append(s.pts, plotPoint{x: x.T / 60, y: y, ymin: y, ymax: y})
	}
	return s
}

func renderSoakPlot(r *soakResult) *image.RGBA {
	const w, h = 1500, 640
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	drawText(img, 40, 14, "ashiato as deployed (k8s/base), "+groupThousands(int64(r.Pods))+" pods, nothing changing", colAxis, 2)
	mem := []plotSeries{
		soakSeries(r, "RSS (MiB)", colAshiato, false, func(x soakSample) float64 { return x.RSSMiB }),
		soakSeries(r, "VmHWM (MiB)", colHWM, true, func(x soakSample) float64 { return x.HWMMiB }),
		soakSeries(r, "Go heap in use (MiB)", colFloor, true, func(x soakSample) float64 { return x.HeapInuseMiB }),
	}
	reqs := []plotSeries{
		soakSeries(r, "API requests", colFloor, false, func(x soakSample) float64 { return x.Requests }),
		soakSeries(r, "ConfigMap reads", colReads, false, func(x soakSample) float64 { return x.CMReads }),
		soakSeries(r, "ConfigMap writes", colStore, true, func(x soakSample) float64 { return x.CMWrites }),
	}
	bytes := []plotSeries{
		soakSeries(r, "stdout (MiB)", colWatch, false, func(x soakSample) float64 { return float64(x.Bytes) / mib }),
		soakSeries(r, "ConfigMap bytes written (MiB)", colKubectl, true, func(x soakSample) float64 { return x.CMBytes / mib }),
	}
	maxT := r.lastT() / 60
	linPanel(img, image.Rect(100, 100, 520, 470), "memory (MiB)", mem, maxT)
	linPanel(img, image.Rect(600, 100, 1020, 470), "requests since start", reqs, maxT)
	linPanel(img, image.Rect(1080, 100, 1480, 470), "bytes since start (MiB)", bytes, maxT)
	x, y := 100, 540
	for _, s := range append(append(mem, reqs...), bytes...) {
		width := 50 + len(s.name)*14 + 40
		if x+width > w {
			x, y = 100, y+32
		}
		line(img, x, y+12, x+40, y+12, s.color, 3, s.dash)
		drawText(img, x+50, y+2, s.name, colAxis, 2)
		x += width
	}
	return img
}

// linPanel plots series against minutes on linear axes from zero.
func linPanel(img *image.RGBA, r image.Rectangle, label string, series []plotSeries, maxX float64) {
	hi := 0.0
	for _, s := range series {
		for _, p := range s.pts {
			hi = max(hi, p.y)
		}
	}
	ymax := niceCeil(math.Max(hi, 1))
	xmax := niceCeil(math.Max(maxX, 1))
	px := func(x float64) int { return r.Min.X + int(x/xmax*float64(r.Dx())) }
	py := func(y float64) int { return r.Max.Y - int(y/ymax*float64(r.Dy())) }
	for i := 0; i <= 5; i++ {
		v := ymax * float64(i) / 5
		line(img, r.Min.X, py(v), r.Max.X, py(v), colGrid, 1, false)
		s := trimFloat(v)
		if v == 0 {
			s = "0"
		}
		drawText(img, r.Min.X-10-len(s)*14, py(v)-13, s, colAxis, 2)
		t := xmax * float64(i) / 5
		line(img, px(t), r.Min.Y, px(t), r.Max.Y, colGrid, 1, false)
		ts := trimFloat(t)
		if t == 0 {
			ts = "0"
		}
		drawText(img, px(t)-len(ts)*7, r.Max.Y+8, ts, colAxis, 2)
	}
	line(img, r.Min.X, r.Max.Y, r.Max.X, r.Max.Y, colAxis, 2, false)
	line(img, r.Min.X, r.Min.Y, r.Min.X, r.Max.Y, colAxis, 2, false)
	drawText(img, r.Min.X, r.Min.Y-34, label, colAxis, 2)
	drawText(img, r.Max.X-3*14, r.Max.Y+36, "min", colAxis, 2)
	for _, s := range series {
		for i, p := range s.pts {
			if i > 0 {
				q := s.pts[i-1]
				line(img, px(q.x), py(q.y), px(p.x), py(p.y), s.color, 3, s.dash)
			}
		}
	}
}
