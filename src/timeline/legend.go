package timeline

import "fmt"

// legendItems is what the legend explains, in a fixed order: the groups'
// colours in order of first lane (the first maxLegend, then a count), the
// states the bands show, and the move mark when there is one.
func (p *painter) legendItems() []legendItem {
	var items []legendItem
	seen := map[string]bool{}
	var groups []string
	for _, l := range p.lanes {
		if l.Group != "" && !seen[l.Group] {
			seen[l.Group] = true
			groups = append(groups, l.Group)
		}
	}
	for i, g := range groups {
		if i == maxLegend {
			items = append(items, legendItem{text: fmt.Sprintf("+%d more", len(groups)-maxLegend)})
			break
		}
		fill, stroke := p.colour[g][0], p.colour[g][1]
		items = append(items, legendItem{
			swatch: fmt.Sprintf(`<rect width="12" height="12" rx="2" fill="%s" stroke="%s"/>`, fill, stroke),
			text:   g,
		})
	}
	states := map[State]bool{}
	for _, b := range p.c.Bands {
		for _, s := range b.Spans {
			states[s.State] = true
		}
	}
	for _, s := range []State{Ready, NotReady, Unknown, Cordoned, Tainted, Deleted} {
		if states[s] {
			items = append(items, legendItem{
				swatch: fmt.Sprintf(`<rect width="12" height="12" fill="%s" stroke="#8c959f"/>`, stateColour(s)),
				text:   "node " + string(s),
			})
		}
	}
	moves, faint := false, false
	for _, l := range p.lanes {
		for _, b := range l.Bars {
			moves = moves || b.From != "" || b.To != ""
			faint = faint || b.Faint
		}
	}
	if moves {
		items = append(items, legendItem{
			swatch: `<path d="M6 1l5 5l-5 5l-5 -5z" fill="#24292f"/>`,
			text:   "moved between nodes",
		})
	}
	if faint {
		note := p.c.FaintNote
		if note == "" {
			note = "elsewhere"
		}
		items = append(items, legendItem{
			swatch: `<rect width="12" height="12" rx="2" fill="#8c959f" fill-opacity="0.35" stroke="#57606a" stroke-dasharray="3 2"/>`,
			text:   note,
		})
	}
	return items
}

// legendRows places the items left to right, wrapping at the chart's width,
// and returns each item's position.
func (p *painter) legendRows() (xs, ys []float64) {
	x, y := pad, 0.0
	for _, it := range p.legend {
		w := 12 + 6 + float64(len([]rune(it.text)))*charWidth + 18
		if x+w > width-pad && x > pad {
			x, y = pad, y+18
		}
		xs, ys = append(xs, x), append(ys, y)
		x += w
	}
	return xs, ys
}

func (p *painter) legendHeight() float64 {
	if len(p.legend) == 0 {
		return 0
	}
	_, ys := p.legendRows()
	return ys[len(ys)-1] + 14
}

func (p *painter) drawLegend() {
	xs, ys := p.legendRows()
	p.printf(`<g class="legend">` + "\n")
	for i, it := range p.legend {
		x, y := xs[i], p.legendY+ys[i]
		p.printf(`<g transform="translate(%s %s)">%s<text x="18" y="10.5">%s</text></g>`+"\n", num(x), num(y), it.swatch, esc(it.text))
	}
	p.printf("</g>\n")
}
