package timeline

import "hash/fnv"

// palette is the colours of groups: twelve hues far enough apart to tell
// neighbouring lanes apart, none of them the green or red of a node's state,
// light enough for dark text on them. Each is a fill and a darker stroke.
var palette = [][2]string{
	{"#7eb0e8", "#2b5d9b"}, // blue
	{"#f5a95c", "#9c5410"}, // orange
	{"#b9a3e3", "#5b3fa8"}, // purple
	{"#cfa783", "#74502c"}, // brown
	{"#f2a7cf", "#a23f78"}, // pink
	{"#cfd37a", "#6b6f1e"}, // olive
	{"#78d0cf", "#1d7473"}, // teal
	{"#97a6f7", "#3446a6"}, // indigo
	{"#f3d474", "#876a14"}, // gold
	{"#aebccb", "#475869"}, // slate
	{"#8fd3f2", "#1f6f94"}, // sky
	{"#d9a3b8", "#8a4a63"}, // mauve
}

// colours gives each group of lanes its colour, in lane order. A group's
// colour is picked by a hash of its name, so it is the same in every picture
// where it does not meet another group of that colour; when it does, the later
// group takes the next free colour, so the groups of one picture stay apart
// (until there are more groups than colours).
func colours(lanes []Lane) map[string][2]string {
	out := map[string][2]string{}
	used := make([]bool, len(palette))
	free := len(palette)
	for _, l := range lanes {
		if _, ok := out[l.Group]; ok {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(l.Group))
		i := int(h.Sum32() % uint32(len(palette)))
		for free > 0 && used[i] {
			i = (i + 1) % len(palette)
		}
		if !used[i] {
			used[i] = true
			free--
		}
		out[l.Group] = palette[i]
	}
	return out
}

// stateColour is the fill of a band span.
func stateColour(s State) string {
	switch s {
	case Ready:
		return "#8fcf8f"
	case NotReady:
		return "#e5534b"
	case Unknown:
		return "#b62324"
	case Deleted:
		return "#8c959f"
	case Tainted:
		return "#8250df"
	default: // Cordoned: drawn with the hatch pattern
		return "url(#ashiato-hatch)"
	}
}
