package main

import (
	"runtime/debug"
	"testing"
)

func TestSetGCDefaults(t *testing.T) {
	tests := []struct {
		name string
		gogc string
		want int // the growth in effect after the call
	}{
		{name: "no GOGC: ours", gogc: "", want: defaultGCPercent},
		{name: "GOGC set: left to the runtime", gogc: "100", want: 100},
		{name: "GOGC off", gogc: "off", want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			was := debug.SetGCPercent(100) // as the runtime starts without GOGC
			defer debug.SetGCPercent(was)
			got := setGCDefaults(func(k string) string {
				if k == "GOGC" {
					return tt.gogc
				}
				return ""
			})
			if got != tt.want {
				t.Errorf("setGCDefaults = %d, want %d", got, tt.want)
			}
			inEffect := debug.SetGCPercent(100)
			wantInEffect := tt.want
			if tt.gogc != "" {
				wantInEffect = 100 // the runtime's own reading of GOGC, not changed by us
			}
			if inEffect != wantInEffect {
				t.Errorf("GC percent in effect %d, want %d", inEffect, wantInEffect)
			}
		})
	}
}
