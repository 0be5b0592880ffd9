package timeline

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var t0 = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// tenPods is a node's hour: ten pods of three owners, one moved in, one moved
// away, the node NotReady for a while and cordoned.
func tenPods() Chart {
	c := Chart{
		Title: "Pods on node worker-1", Subtitle: "from 2026-11-26T14:00:00Z to 2026-11-26T15:30:00Z",
		From: t0, To: at(90),
		Bands: []Band{{Label: "worker-1", Spans: []Span{
			{Start: at(0), End: at(32), State: Ready, Tip: "Ready"},
			{Start: at(32), End: at(51), State: NotReady, Tip: "NotReady (KubeletNotReady)"},
			{Start: at(51), End: at(90), State: Ready, Tip: "Ready"},
			{Start: at(30), End: at(60), State: Cordoned, Tip: "cordoned"},
			{Start: at(37), End: at(51), State: Tainted, Tip: "node.kubernetes.io/unreachable:NoExecute"},
		}}},
		Marks: []Mark{{At: at(32), Label: "at 14:32"}},
	}
	groups := []string{"shop/web", "shop/cart", "payments/api"}
	for i := range 10 {
		g := groups[i%3]
		l := Lane{Label: fmt.Sprintf("%s-%d", g, i), Group: g}
		b := Bar{Start: at(i * 2), End: at(40 + i*3), Tip: fmt.Sprintf("pod %d", i)}
		switch i {
		case 3:
			b.From = "worker-2"
		case 7:
			b.To = "worker-3"
		}
		l.Bars = append(l.Bars, b)
		if i == 5 {
			l.Bars = append(l.Bars, Bar{Start: at(60), End: at(85), Label: "worker-4", Faint: true, Tip: "replacement on worker-4"})
		}
		c.Lanes = append(c.Lanes, l)
	}
	return c
}

// fiveHundredPods is a busy node over a day: 500 pods of 40 owners.
func fiveHundredPods() Chart {
	c := Chart{Title: "Pods on node big-1", From: t0, To: t0.Add(24 * time.Hour)}
	for i := range 500 {
		g := fmt.Sprintf("team-%02d/app", i%40)
		start := t0.Add(time.Duration(i*97%1400) * time.Minute)
		c.Lanes = append(c.Lanes, Lane{Label: fmt.Sprintf("%s-%03d", g, i), Group: g, Bars: []Bar{
			{Start: start, End: start.Add(time.Duration(30+i%300) * time.Minute)},
		}})
	}
	return c
}

func hostile() Chart {
	bad := `<script>alert("x")</script> & 'q'`
	return Chart{
		Title: bad, Subtitle: bad, From: t0, To: at(60),
		Bands: []Band{{Label: bad, Link: `/node?n="><script>`, Spans: []Span{{Start: at(0), End: at(60), State: Ready, Tip: bad}}}},
		Lanes: []Lane{{Label: bad, Link: `javascript:"<x>"`, Group: bad, Bars: []Bar{{Start: at(5), End: at(50), Label: bad, Tip: bad, From: bad, To: bad}}}},
		Marks: []Mark{{At: at(30), Label: bad}},
	}
}

func TestRenderGolden(t *testing.T) {
	tests := []struct {
		name  string
		chart Chart
	}{
		{"ten-pods", tenPods()},
		{"five-hundred-pods", fiveHundredPods()},
		{"empty", Chart{Title: "Pods on node idle", From: t0, To: at(60)}},
		{"escaping", hostile()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := Render(&got, tt.chart); err != nil {
				t.Fatal(err)
			}
			wellFormed(t, got.Bytes())
			var again bytes.Buffer
			if err := Render(&again, tt.chart); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), again.Bytes()) {
				t.Fatal("two renderings of the same chart differ")
			}
			golden := filepath.Join("testdata", tt.name+".svg")
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from the rendering (go test -update rewrites it after a deliberate change)", golden)
			}
		})
	}
}

// wellFormed fails unless svg parses as XML from start to end.
func wellFormed(t *testing.T, svg []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if el, ok := tok.(xml.StartElement); ok && strings.EqualFold(el.Name.Local, "script") {
			t.Fatal("a <script> element got through")
		}
	}
}

func TestRenderEscapes(t *testing.T) {
	var out bytes.Buffer
	if err := Render(&out, hostile()); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, raw := range []string{"<script", `"><script`, `alert("x")`, `'q'`} {
		if strings.Contains(s, raw) {
			t.Errorf("output contains %q unescaped", raw)
		}
	}
	if !strings.Contains(s, "&lt;script&gt;") {
		t.Error("the escaped text is missing")
	}
}

func TestRenderGroupsManyLanes(t *testing.T) {
	var out bytes.Buffer
	if err := Render(&out, fiveHundredPods()); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if n := strings.Count(s, `class="lane"`); n != 40 {
		t.Errorf("%d lanes drawn, want 40 (one per owner)", n)
	}
	for _, want := range []string{"team-00/app (13 pods)", "team-39/app (12 pods)", "500 lanes are too many"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q", want)
		}
	}
}

func TestGroupedOverflow(t *testing.T) {
	c := Chart{MaxLanes: 3, From: t0, To: at(60)}
	for i := range 6 {
		g := fmt.Sprintf("g%d", i)
		c.Lanes = append(c.Lanes, Lane{Label: g + "-a", Group: g, Bars: []Bar{{Start: at(i), End: at(i + 10)}}},
			Lane{Label: g + "-b", Group: g, Bars: []Bar{{Start: at(i + 5), End: at(i + 20)}}})
	}
	lanes, ok := grouped(c)
	if !ok {
		t.Fatal("not grouped")
	}
	var labels []string
	for _, l := range lanes {
		labels = append(labels, l.Label)
	}
	want := "g0 (2 pods)|g1 (2 pods)|4 more groups (8 pods)"
	if got := strings.Join(labels, "|"); got != want {
		t.Errorf("lanes %q, want %q", got, want)
	}
	// g0's two pods overlap: one bar from 0 to 20.
	if b := lanes[0].Bars; len(b) != 1 || !b[0].Start.Equal(at(0)) || !b[0].End.Equal(at(20)) {
		t.Errorf("g0 bars %+v, want one from 0 to 20", b)
	}
}

func TestTicks(t *testing.T) {
	tests := []struct {
		from, to time.Time
		max      int
		want     string
	}{
		{at(0), at(60), 12, "2026-11-26/14:00 14:05 14:10 14:15 14:20 14:25 14:30 14:35 14:40 14:45 14:50 14:55 15:00"},
		{at(7), at(50), 4, "2026-11-26/14:10 14:20 14:30 14:40 14:50"},
		{at(-30), at(300), 6, "2026-11-26/14:00 15:00 16:00 17:00 18:00 19:00"},
		{t0.Add(-3 * time.Hour), t0.Add(13 * time.Hour), 5, "2026-11-26/12:00 15:00 18:00 21:00 2026-11-27/00:00 03:00"},
		{t0, t0.Add(72 * time.Hour), 3, "2026-11-27 2026-11-28 2026-11-29"},
		{at(0), at(0), 5, ""},
	}
	for _, tt := range tests {
		var got []string
		for _, tk := range ticks(tt.from, tt.to, tt.max) {
			s := tk.text
			if tk.day != "" {
				s = tk.day + "/" + s
			}
			got = append(got, s)
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("ticks(%s, %s, %d) = %q, want %q", tt.from.Format(time.RFC3339), tt.to.Format(time.RFC3339), tt.max, g, tt.want)
		}
	}
}

func TestColours(t *testing.T) {
	lanes := func(groups ...string) []Lane {
		var out []Lane
		for _, g := range groups {
			out = append(out, Lane{Group: g})
		}
		return out
	}
	alone := colours(lanes("shop/web"))["shop/web"]
	if again := colours(lanes("shop/web"))["shop/web"]; again != alone {
		t.Error("the same group got two colours")
	}
	// shop/web and shop/cart hash to the same colour: the second moves on.
	both := colours(lanes("shop/web", "shop/cart", "shop/web"))
	if both["shop/web"] != alone {
		t.Error("the first group lost its own colour")
	}
	if both["shop/cart"] == both["shop/web"] {
		t.Error("two groups of one picture share a colour")
	}
	var many []string
	for i := range 20 {
		many = append(many, fmt.Sprintf("g%d", i))
	}
	distinct := map[[2]string]bool{}
	for _, c := range colours(lanes(many...)) {
		distinct[c] = true
	}
	if len(distinct) != len(palette) {
		t.Errorf("20 groups use %d colours, want all %d", len(distinct), len(palette))
	}
}

func TestRenderRefusesEmptyAxis(t *testing.T) {
	if err := Render(io.Discard, Chart{From: t0, To: t0}); err == nil {
		t.Error("an axis of no time rendered")
	}
}
