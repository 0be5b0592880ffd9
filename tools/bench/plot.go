package main

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"strconv"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// The plot is drawn with the standard library and x/image's built-in bitmap
// font: no plotting library, no external converter, nothing that can render
// differently on another machine. Two panels, wall time and peak RSS against
// pods, log-scaled, one line per program with min–max bars at each point.

type plotSeries struct {
	name  string
	color color.RGBA
	dash  bool
	pts   []plotPoint
}

type plotPoint struct {
	x             float64
	y, ymin, ymax float64
}

var (
	colFloor   = color.RGBA{120, 120, 120, 255}
	colAshiato = color.RGBA{31, 119, 180, 255}
	colKubectl = color.RGBA{214, 39, 40, 255}
	colStore   = color.RGBA{255, 127, 14, 255}
	colWatch   = color.RGBA{44, 160, 44, 255}
	colAxis    = color.RGBA{40, 40, 40, 255}
	colGrid    = color.RGBA{225, 225, 225, 255}
)

func plotData(sizes []sizeResult) (timeSeries, memSeries []plotSeries) {
	prog := func(name string, c color.RGBA, dash bool, get func(sizeResult) *program, mem bool) plotSeries {
		s := plotSeries{name: name, color: c, dash: dash}
		for _, sz := range sizes {
			p := get(sz)
			if p == nil {
				continue
			}
			st := p.WallS
			if mem {
				st = p.RSSMiB
			}
			s.pts = append(s.pts, plotPoint{x: float64(sz.Pods), y: st.Median, ymin: st.Min, ymax: st.Max})
		}
		return s
	}
	floor := func(s sizeResult) *program { return s.Floor }
	oneshot := func(s sizeResult) *program { return s.Oneshot }
	kubectl := func(s sizeResult) *program { return s.Kubectl }
	store := func(s sizeResult) *program { return s.StoreExisting }
	timeSeries = []plotSeries{
		prog("floor (one LIST, no limit)", colFloor, false, floor, false),
		prog("ashiato --oneshot", colAshiato, false, oneshot, false),
		prog("kubectl get pods -A -o json", colKubectl, false, kubectl, false),
		prog("ashiato --oneshot --store-in-cm (hour stored)", colStore, true, store, false),
	}
	memSeries = []plotSeries{
		prog("floor (one LIST, no limit)", colFloor, false, floor, true),
		prog("ashiato --oneshot", colAshiato, false, oneshot, true),
		prog("kubectl get pods -A -o json", colKubectl, false, kubectl, true),
		prog("ashiato --oneshot --store-in-cm (hour stored)", colStore, true, store, true),
	}
	watch := plotSeries{name: "ashiato watch mode, RSS after sync", color: colWatch, dash: true}
	for _, sz := range sizes {
		if w := sz.Watch; w != nil && w.SteadyRSSMiB.valid() {
			st := w.SteadyRSSMiB
			watch.pts = append(watch.pts, plotPoint{x: float64(sz.Pods), y: st.Median, ymin: st.Min, ymax: st.Max})
		}
	}
	memSeries = append(memSeries, watch)
	return timeSeries, memSeries
}

func writePlot(path string, sizes []sizeResult) error {
	img := renderPlot(sizes)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func renderPlot(sizes []sizeResult) *image.RGBA {
	const w, h = 1400, 620
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	ts, ms := plotData(sizes)
	maxX := 0.0
	for _, s := range sizes {
		maxX = max(maxX, float64(s.Pods))
	}
	title := "Pod Ashiato against kubectl and the floor"
	if len(sizes) > 0 {
		title += fmt.Sprintf(" (%s nodes)", groupThousands(int64(sizes[0].Nodes)))
	}
	drawText(img, 40, 14, title, colAxis, 2)
	panel(img, image.Rect(90, 100, 650, 480), "wall time (s), log scale", ts, maxX)
	panel(img, image.Rect(790, 100, 1350, 480), "peak RSS (MiB), log scale", ms, maxX)
	// Legend: every series that has points, in two columns.
	var all []plotSeries
	seen := map[string]bool{}
	for _, s := range append(ts, ms...) {
		if len(s.pts) > 0 && !seen[s.name] {
			seen[s.name] = true
			all = append(all, s)
		}
	}
	x, y := 90, 550
	for _, s := range all {
		width := 50 + len(s.name)*14 + 40
		if x+width > w {
			x, y = 90, y+32
		}
		line(img, x, y+12, x+40, y+12, s.color, 3, s.dash)
		drawText(img, x+50, y+2, s.name, colAxis, 2)
		x += width
	}
	return img
}

func panel(img *image.RGBA, r image.Rectangle, label string, series []plotSeries, maxX float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.pts {
			lo = min(lo, p.ymin, p.y)
			hi = max(hi, p.ymax, p.y)
		}
	}
	if math.IsInf(lo, 1) || lo <= 0 {
		lo, hi = 1, 10
	}
	ticks := logTicks(lo, hi)
	ylo, yhi := math.Log10(ticks[0]), math.Log10(ticks[len(ticks)-1])
	if yhi <= ylo {
		yhi = ylo + 1
	}
	if maxX <= 0 {
		maxX = 1
	}
	xmax := niceCeil(maxX)
	px := func(x float64) int { return r.Min.X + int(x/xmax*float64(r.Dx())) }
	py := func(y float64) int {
		return r.Max.Y - int((math.Log10(y)-ylo)/(yhi-ylo)*float64(r.Dy()))
	}

	for _, t := range ticks {
		y := py(t)
		line(img, r.Min.X, y, r.Max.X, y, colGrid, 1, false)
		s := trimFloat(t)
		drawText(img, r.Min.X-10-len(s)*14, y-13, s, colAxis, 2)
	}
	for i := 0; i <= 5; i++ {
		x := xmax * float64(i) / 5
		line(img, px(x), r.Min.Y, px(x), r.Max.Y, colGrid, 1, false)
		s := groupThousands(int64(x))
		drawText(img, px(x)-len(s)*7, r.Max.Y+8, s, colAxis, 2)
	}
	line(img, r.Min.X, r.Max.Y, r.Max.X, r.Max.Y, colAxis, 2, false)
	line(img, r.Min.X, r.Min.Y, r.Min.X, r.Max.Y, colAxis, 2, false)
	drawText(img, r.Min.X, r.Min.Y-34, label, colAxis, 2)
	drawText(img, r.Max.X-4*14, r.Max.Y+36, "pods", colAxis, 2)

	for _, s := range series {
		for i, p := range s.pts {
			x := px(p.x)
			line(img, x, py(p.ymin), x, py(p.ymax), s.color, 2, false)
			fill(img, image.Rect(x-5, py(p.y)-5, x+6, py(p.y)+6), s.color)
			if i > 0 {
				q := s.pts[i-1]
				line(img, px(q.x), py(q.y), x, py(p.y), s.color, 3, s.dash)
			}
		}
	}
}

// logTicks are 1-2-5 ticks from the largest one at or below lo to the
// smallest one at or above hi.
func logTicks(lo, hi float64) []float64 {
	var ticks []float64
	for d := math.Pow(10, math.Floor(math.Log10(lo))); len(ticks) == 0 || ticks[len(ticks)-1] < hi; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if len(ticks) == 0 || ticks[len(ticks)-1] < hi {
				ticks = append(ticks, d*m)
			}
		}
	}
	i := 0
	for i+1 < len(ticks) && ticks[i+1] <= lo {
		i++
	}
	return ticks[i:]
}

func niceCeil(x float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	if v >= 1 {
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r.Intersect(img.Bounds()), image.NewUniform(c), image.Point{}, draw.Src)
}

// line draws from (x0,y0) to (x1,y1), width pixels wide, dashed or not.
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, width int, dash bool) {
	dx, dy := float64(x1-x0), float64(y1-y0)
	n := int(math.Max(math.Abs(dx), math.Abs(dy)))
	if n == 0 {
		n = 1
	}
	half := width / 2
	for i := 0; i <= n; i++ {
		if dash && (i/10)%2 == 1 {
			continue
		}
		x := x0 + int(math.Round(dx*float64(i)/float64(n)))
		y := y0 + int(math.Round(dy*float64(i)/float64(n)))
		fill(img, image.Rect(x-half, y-half, x-half+width, y-half+width), c)
	}
}

// drawText writes s with its top-left corner at (x, y), the 7×13 bitmap font
// magnified scale times.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA, scale int) {
	face := basicfont.Face7x13
	small := image.NewRGBA(image.Rect(0, 0, 7*len(s)+1, 13))
	d := font.Drawer{Dst: small, Src: image.NewUniform(c), Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	for sy := range small.Bounds().Dy() {
		for sx := range small.Bounds().Dx() {
			if small.RGBAAt(sx, sy).A == 0 {
				continue
			}
			fill(img, image.Rect(x+sx*scale, y+sy*scale, x+(sx+1)*scale, y+(sy+1)*scale), c)
		}
	}
}
