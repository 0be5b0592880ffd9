package timeline

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Layout, in SVG user units (pixels at 100%).
const (
	width      = 1200.0
	pad        = 16.0
	charWidth  = 6.6 // average width of a 12px sans-serif character
	laneHeight = 20.0
	barHeight  = 14.0
	bandHeight = 28.0 // the condition track, then a thin track each for cordoned and NoExecute, and a gap
	minLabel   = 120.0
	maxLabel   = 360.0
	tickGap    = 90.0 // the least room an axis label needs
	maxLegend  = 10   // groups named in the legend; the rest are counted
)

// Render writes c as one SVG document.
func Render(w io.Writer, c Chart) error {
	if !c.To.After(c.From) {
		return errors.New("timeline: the axis must end after it starts")
	}
	lanes, wasGrouped := grouped(c)
	p := &painter{w: bufio.NewWriter(w), c: c, lanes: lanes}
	p.layout()
	p.document(wasGrouped)
	return p.w.Flush()
}

// painter holds the layout of one chart while it is written.
type painter struct {
	w     *bufio.Writer
	c     Chart
	lanes []Lane

	labelW            float64 // the label column
	x0, x1            float64 // the plot's left and right edge
	legendY, axisY    float64
	bandsY, lanesY    float64
	plotBottom, total float64
	legend            []legendItem
	colour            map[string][2]string // fill and stroke of each group
}

type legendItem struct {
	swatch string // an SVG fragment drawn at (0,0), 12 wide
	text   string
}

func (p *painter) layout() {
	longest := 0
	for _, l := range p.lanes {
		longest = max(longest, utf8.RuneCountInString(l.Label))
	}
	for _, b := range p.c.Bands {
		longest = max(longest, utf8.RuneCountInString(b.Label))
	}
	p.labelW = min(max(float64(longest)*charWidth+24, minLabel), maxLabel)
	p.x0, p.x1 = pad+p.labelW, width-pad-20
	p.colour = colours(p.lanes)
	p.legend = p.legendItems()

	y := 0.0
	if p.c.Title != "" {
		y += 30
	}
	if p.c.Subtitle != "" {
		y += 20
	}
	p.legendY = y + 14
	p.axisY = p.legendY + p.legendHeight() + 30
	p.bandsY = p.axisY + 10
	p.lanesY = p.bandsY + float64(len(p.c.Bands))*bandHeight
	if len(p.c.Bands) > 0 {
		p.lanesY += 6
	}
	rows := float64(len(p.lanes))
	if len(p.lanes) == 0 {
		rows = 2 // room for the note
	}
	p.plotBottom = p.lanesY + rows*laneHeight
	p.total = p.plotBottom + 44
}

// x is where t falls on the plot, clamped to it.
func (p *painter) x(t time.Time) float64 {
	span := p.c.To.Sub(p.c.From).Seconds()
	f := t.Sub(p.c.From).Seconds() / span
	return p.x0 + min(max(f, 0), 1)*(p.x1-p.x0)
}

func (p *painter) document(wasGrouped bool) {
	p.printf(`<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="'DejaVu Sans', 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12" fill="#1f2328">`+"\n",
		num(width), num(p.total), num(width), num(p.total))
	if p.c.Title != "" {
		p.printf("<title>%s</title>\n", esc(p.c.Title))
	}
	p.printf(`<defs><pattern id="ashiato-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe9b7"/><line x1="0" y1="0" x2="0" y2="6" stroke="#8a6d1f" stroke-width="2.4"/></pattern></defs>` + "\n")
	p.printf(`<rect width="%s" height="%s" fill="#ffffff"/>`+"\n", num(width), num(p.total))
	if p.c.Title != "" {
		p.printf(`<text x="%s" y="30" font-size="18" font-weight="600">%s</text>`+"\n", num(pad), esc(p.c.Title))
	}
	if p.c.Subtitle != "" {
		p.printf(`<text x="%s" y="%s" fill="#57606a">%s</text>`+"\n", num(pad), num(p.legendY-14), esc(p.c.Subtitle))
	}
	p.drawLegend()
	p.drawAxis()
	p.drawBands()
	p.drawLanes()
	p.drawMarks()
	note := "times are UTC"
	if wasGrouped {
		note = fmt.Sprintf("%d lanes are too many to draw one each: one lane per group, %d lanes; times are UTC", len(p.c.Lanes), len(p.lanes))
	}
	p.printf(`<text x="%s" y="%s" fill="#57606a" font-size="11">%s</text>`+"\n", num(pad), num(p.total-10), esc(note))
	p.printf("</svg>\n")
}

func (p *painter) printf(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

// drawAxis draws the tick labels above and below the plot and the grid.
func (p *painter) drawAxis() {
	maxTicks := max(int((p.x1-p.x0)/tickGap), 1)
	p.printf(`<g class="axis" font-size="11" fill="#57606a" text-anchor="middle">` + "\n")
	p.printf(`<text x="%s" y="%s" text-anchor="start">time (UTC)</text>`+"\n", num(pad), num(p.axisY-4))
	for _, t := range ticks(p.c.From, p.c.To, maxTicks) {
		x := num(p.x(t.at))
		p.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e1e4e8"/>`+"\n", x, num(p.axisY), x, num(p.plotBottom))
		if t.day != "" {
			p.printf(`<text x="%s" y="%s" font-weight="600">%s</text>`+"\n", x, num(p.axisY-18), esc(t.day))
		}
		p.printf(`<text x="%s" y="%s">%s</text>`+"\n", x, num(p.axisY-4), esc(t.text))
		p.printf(`<text x="%s" y="%s">%s</text>`+"\n", x, num(p.plotBottom+14), esc(t.text))
	}
	p.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#8c959f"/>`+"\n", num(p.x0), num(p.axisY), num(p.x1), num(p.axisY))
	p.printf("</g>\n")
}

func (p *painter) drawBands() {
	for i, b := range p.c.Bands {
		y := p.bandsY + float64(i)*bandHeight
		p.printf(`<g class="band" data-node="%s">`+"\n", esc(b.Label))
		p.label(b.Label, b.Link, y+11, true)
		// The band's extent: states are known only where spans say.
		p.printf(`<rect x="%s" y="%s" width="%s" height="14" fill="#f3f4f6"/>`+"\n", num(p.x0), num(y), num(p.x1-p.x0))
		for _, upper := range []bool{true, false} {
			for _, s := range b.Spans {
				if s.State.lower() == upper || !s.End.After(p.c.From) || !s.Start.Before(p.c.To) {
					continue
				}
				x0, x1 := p.x(s.Start), p.x(s.End)
				top, h := y, 14.0
				if !upper {
					top, h = y+16, 4
					if s.State == Tainted {
						top = y + 21
					}
				}
				p.printf(`<rect class="state" data-state="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"><title>%s</title></rect>`+"\n",
					esc(string(s.State)), num(x0), num(top), num(max(x1-x0, 1.5)), num(h), stateColour(s.State), esc(s.Tip))
				if upper && textFits(string(s.State), x1-x0) {
					ink := "#1f2328"
					if s.State != Ready {
						ink = "#ffffff" // on the dark reds and grey
					}
					p.printf(`<text x="%s" y="%s" font-size="10" fill="%s" pointer-events="none">%s</text>`+"\n", num(x0+4), num(y+11), ink, esc(string(s.State)))
				}
			}
		}
		p.printf("</g>\n")
	}
}

func (p *painter) drawLanes() {
	if len(p.lanes) == 0 {
		p.printf(`<text x="%s" y="%s" fill="#57606a" text-anchor="middle">nothing recorded in this window</text>`+"\n",
			num((p.x0+p.x1)/2), num(p.lanesY+laneHeight))
		return
	}
	for i, l := range p.lanes {
		y := p.lanesY + float64(i)*laneHeight
		if i%2 == 1 {
			p.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="#f6f8fa"/>`+"\n", num(pad), num(y), num(p.x1-pad), num(laneHeight))
		}
		p.printf(`<g class="lane" data-lane="%s">`+"\n", esc(l.Label))
		p.label(l.Label, l.Link, y+14, false)
		fill, stroke := p.colour[l.Group][0], p.colour[l.Group][1]
		top := y + (laneHeight-barHeight)/2
		for _, b := range l.Bars {
			if b.End.Before(p.c.From) || b.Start.After(p.c.To) {
				continue
			}
			x0, x1 := p.x(b.Start), p.x(b.End)
			w := max(x1-x0, 2)
			style := fmt.Sprintf(`fill="%s" stroke="%s"`, fill, stroke)
			if b.Faint {
				style += ` fill-opacity="0.35" stroke-dasharray="3 2"`
			}
			if b.Maybe.After(b.End) {
				tail := p.x(b.Maybe) - (x0 + w)
				if tail > 0.5 {
					p.printf(`<rect class="maybe" x="%s" y="%s" width="%s" height="%s" fill="%s" fill-opacity="0.3"><title>%s</title></rect>`+"\n",
						num(x0+w), num(top+3), num(tail), num(barHeight-6), fill, esc("may have stayed until "+b.Maybe.UTC().Format("15:04:05")+" (last seen is kept to a few minutes)"))
				}
			}
			p.open(b.Link)
			p.printf(`<rect class="bar" x="%s" y="%s" width="%s" height="%s" rx="2" %s><title>%s</title></rect>`+"\n",
				num(x0), num(top), num(w), num(barHeight), style, esc(b.Tip))
			if b.Label != "" && textFits(b.Label, w) {
				p.printf(`<text x="%s" y="%s" font-size="10" pointer-events="none">%s</text>`+"\n", num(x0+4), num(top+10.5), esc(b.Label))
			}
			p.close(b.Link)
			if b.From != "" && !b.Start.Before(p.c.From) {
				p.move(x0, top+barHeight/2, "moved here from "+b.From)
			}
			if b.To != "" && !b.End.After(p.c.To) {
				p.move(x0+w, top+barHeight/2, "moved on to "+b.To)
			}
		}
		p.printf("</g>\n")
	}
}

// move draws a move mark: a dark diamond.
func (p *painter) move(x, y float64, tip string) {
	p.printf(`<path class="move" d="M%s %sl5 5l-5 5l-5 -5z" fill="#24292f" stroke="#ffffff" stroke-width="1"><title>%s</title></path>`+"\n",
		num(x), num(y-5), esc(tip))
}

func (p *painter) drawMarks() {
	for _, m := range p.c.Marks {
		if m.At.Before(p.c.From) || m.At.After(p.c.To) {
			continue
		}
		x := num(p.x(m.At))
		p.printf(`<g class="mark"><line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#cf222e" stroke-width="1.5" stroke-dasharray="5 3"/>`, x, num(p.axisY-2), x, num(p.plotBottom))
		p.printf(`<text x="%s" y="%s" fill="#cf222e" font-size="11" font-weight="600" text-anchor="middle">%s</text></g>`+"\n", x, num(p.plotBottom+28), esc(m.Label))
	}
}

// label writes a lane's or band's label in the label column, cut to fit with
// the whole text as its tooltip.
func (p *painter) label(text, link string, y float64, bold bool) {
	fits := int((p.labelW - 16) / charWidth)
	shown := text
	if utf8.RuneCountInString(text) > fits {
		shown = string([]rune(text)[:fits-1]) + "…"
	}
	weight := ""
	if bold {
		weight = ` font-weight="600"`
	}
	p.open(link)
	p.printf(`<text class="label" x="%s" y="%s"%s><title>%s</title>%s</text>`+"\n", num(pad), num(y), weight, esc(text), esc(shown))
	p.close(link)
}

func (p *painter) open(link string) {
	if link != "" {
		p.printf(`<a href="%s">`, esc(link))
	}
}

func (p *painter) close(link string) {
	if link != "" {
		p.printf("</a>\n")
	}
}

// textFits reports whether s fits a bar w wide with some margin.
func textFits(s string, w float64) bool {
	return float64(utf8.RuneCountInString(s))*6+8 <= w
}

// num prints a coordinate with one decimal at most, the same on every machine.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0")
}

// esc is s escaped for XML text and attribute values.
func esc(s string) string {
	var b strings.Builder
	// EscapeText writes to a strings.Builder, which never fails.
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
