package bench

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// The latency plot is HdrHistogram's "latency by percentile
// distribution": x is the percentile on a log scale of 1/(1-p) (0%, 90%,
// 99%, 99.9%, ...), y the latency on a log scale, one line per server.

type series struct {
	name  string
	color color.RGBA
	cdf   []CDFPoint
	count uint64
}

var seriesColors = []color.RGBA{{0xd6, 0x27, 0x28, 0xff}, {0x1f, 0x77, 0xb4, 0xff}}

type plotFrame struct {
	w, h                  int
	left, right, top, bot int
	xmax                  float64 // decades of 1/(1-p)
	ymin, ymax            float64 // log10 of microseconds
	series                []series
	title                 string
}

func newFrame(rep *Report) (*plotFrame, error) {
	f := &plotFrame{w: 880, h: 520, left: 80, right: 30, top: 50, bot: 60, title: rep.Workload.Describe()}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, r := range rep.Servers {
		h := r.Histogram()
		if h == nil || h.Count() == 0 {
			continue
		}
		s := series{name: r.Name, color: seriesColors[i%len(seriesColors)], cdf: h.CDF(), count: h.Count()}
		f.series = append(f.series, s)
		lo = math.Min(lo, float64(h.Min())/1e3)
		hi = math.Max(hi, float64(h.Max())/1e3)
		f.xmax = math.Max(f.xmax, math.Ceil(math.Log10(float64(h.Count()))))
	}
	if len(f.series) == 0 {
		return nil, errors.New("plot: no latencies recorded")
	}
	f.xmax = math.Min(math.Max(f.xmax, 2), 6)
	f.ymin = math.Floor(math.Log10(math.Max(lo, 0.1)))
	f.ymax = math.Ceil(math.Log10(math.Max(hi, 1)))
	if f.ymax <= f.ymin {
		f.ymax = f.ymin + 1
	}
	return f, nil
}

// xOf maps a cumulative fraction to a pixel column.
func (f *plotFrame) xOf(frac float64) float64 {
	d := f.xmax
	if frac < 1 {
		d = math.Min(-math.Log10(1-frac), f.xmax)
	}
	return float64(f.left) + d/f.xmax*float64(f.w-f.left-f.right)
}

// yOf maps microseconds to a pixel row.
func (f *plotFrame) yOf(us float64) float64 {
	l := math.Log10(math.Max(us, 1e-3))
	l = math.Max(f.ymin, math.Min(f.ymax, l))
	return float64(f.h-f.bot) - (l-f.ymin)/(f.ymax-f.ymin)*float64(f.h-f.top-f.bot)
}

// steps returns a series' outline: each bucket's latency held from the
// previous bucket's percentile to its own.
func (f *plotFrame) steps(s series) [][2]float64 {
	var pts [][2]float64
	prev := 0.0
	for _, p := range s.cdf {
		y := f.yOf(float64(p.Value) / 1e3)
		pts = append(pts, [2]float64{f.xOf(prev), y}, [2]float64{f.xOf(p.Fraction), y})
		prev = p.Fraction
	}
	return pts
}

func pctLabel(decade int) string {
	switch decade {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", decade-2) + "%"
}

func usLabel(decade int) string {
	us := math.Pow(10, float64(decade))
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%gs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%gms", us/1e3)
	}
	return fmt.Sprintf("%gus", us)
}

// WritePlot writes the latency distributions of rep to path, as SVG or,
// for a .png name, PNG.
func WritePlot(rep *Report, path string) error {
	f, err := newFrame(rep)
	if err != nil {
		return err
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(out)
	if strings.EqualFold(filepath.Ext(path), ".png") {
		err = f.png(bw)
	} else {
		f.svg(bw)
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}

func (f *plotFrame) svg(w io.Writer) {
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", f.w, f.h, f.w, f.h)
	fmt.Fprintf(w, `<rect width="%d" height="%d" fill="white"/>`+"\n", f.w, f.h)
	fmt.Fprintf(w, `<text x="%d" y="22" font-size="14">Latency by percentile: %s</text>`+"\n", f.left, xmlEscape(f.title))
	x0, x1 := float64(f.left), float64(f.w-f.right)
	y0, y1 := float64(f.h-f.bot), float64(f.top)
	for d := 0; d <= int(f.xmax); d++ {
		x := f.xOf(1 - math.Pow(10, -float64(d)))
		if d == 0 {
			x = x0
		}
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x, y0, x, y1)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", x, y0+18, pctLabel(d))
	}
	for d := int(f.ymin); d <= int(f.ymax); d++ {
		y := f.yOf(math.Pow(10, float64(d)))
		fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y, x1, y)
		fmt.Fprintf(w, `<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", x0-6, y+4, strings.Replace(usLabel(d), "us", "µs", 1))
	}
	fmt.Fprintf(w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#444"/>`+"\n", x0, y1, x1-x0, y0-y1)
	fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">percentile</text>`+"\n", (x0+x1)/2, f.h-20)
	fmt.Fprintf(w, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">latency</text>`+"\n", (y0+y1)/2)
	for i, s := range f.series {
		var b strings.Builder
		for j, p := range f.steps(s) {
			if j > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%.1f,%.1f", p[0], p[1])
		}
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", hexColor(s.color), b.String())
		ly := f.top + 16 + 18*i
		fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", f.left+12, ly-4, f.left+36, ly-4, hexColor(s.color))
		fmt.Fprintf(w, `<text x="%d" y="%d">%s (%d samples)</text>`+"\n", f.left+42, ly, xmlEscape(s.name), s.count)
	}
	fmt.Fprintln(w, "</svg>")
}

// png draws the same plot without a text renderer: tick labels use a
// 3x5 pixel font of the few characters they need; the legend is the
// line colours in server order (first red, second blue).
func (f *plotFrame) png(w io.Writer) error {
	img := image.NewRGBA(image.Rect(0, 0, f.w, f.h))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	grid := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	ink := color.RGBA{0x44, 0x44, 0x44, 0xff}
	x0, x1 := float64(f.left), float64(f.w-f.right)
	y0, y1 := float64(f.h-f.bot), float64(f.top)
	for d := 0; d <= int(f.xmax); d++ {
		x := f.xOf(1 - math.Pow(10, -float64(d)))
		if d == 0 {
			x = x0
		}
		line(img, x, y0, x, y1, grid, 1)
		lab := pctLabel(d)
		drawText(img, int(x)-len(lab)*4/2*2, int(y0)+8, lab, ink)
	}
	for d := int(f.ymin); d <= int(f.ymax); d++ {
		y := f.yOf(math.Pow(10, float64(d)))
		line(img, x0, y, x1, y, grid, 1)
		lab := usLabel(d)
		drawText(img, int(x0)-6-len(lab)*8, int(y)-5, lab, ink)
	}
	line(img, x0, y0, x1, y0, ink, 1)
	line(img, x0, y1, x1, y1, ink, 1)
	line(img, x0, y0, x0, y1, ink, 1)
	line(img, x1, y0, x1, y1, ink, 1)
	for i, s := range f.series {
		pts := f.steps(s)
		for j := 1; j < len(pts); j++ {
			line(img, pts[j-1][0], pts[j-1][1], pts[j][0], pts[j][1], s.color, 2)
		}
		ly := float64(f.top + 12 + 14*i)
		line(img, x0+12, ly, x0+40, ly, s.color, 3)
	}
	return png.Encode(w, img)
}

// line draws a segment of the given thickness (DDA).
func line(img *image.RGBA, xa, ya, xb, yb float64, c color.RGBA, width int) {
	n := int(math.Max(math.Abs(xb-xa), math.Abs(yb-ya))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		x := int(math.Round(xa + t*(xb-xa)))
		y := int(math.Round(ya + t*(yb-ya)))
		for dx := 0; dx < width; dx++ {
			for dy := 0; dy < width; dy++ {
				img.SetRGBA(x+dx-width/2, y+dy-width/2, c)
			}
		}
	}
}

// font3x5 holds the glyphs tick labels need, one row per string, '#' on.
var font3x5 = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"}, '1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"}, '3': {"###", "..#", "###", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"}, '5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"}, '7': {"###", "..#", "..#", "..#", "..#"},
	'8': {"###", "#.#", "###", "#.#", "###"}, '9': {"###", "#.#", "###", "..#", "###"},
	'.': {"...", "...", "...", "...", ".#."}, '%': {"#.#", "..#", ".#.", "#..", "#.#"},
	'u': {"...", "#.#", "#.#", "#.#", "###"}, 's': {"...", "###", "##.", "..#", "###"},
	'm': {"...", "###", "###", "#.#", "#.#"}, 'e': {"###", "#.#", "###", "#..", "###"},
	'+': {"...", ".#.", "###", ".#.", "..."},
}

// drawText writes s at (x, y) at twice the font's size.
func drawText(img *image.RGBA, x, y int, s string, c color.RGBA) {
	for _, r := range s {
		g, ok := font3x5[r]
		if ok {
			for row := range 5 {
				for col := range 3 {
					if g[row][col] == '#' {
						for d := range 4 {
							img.SetRGBA(x+col*2+d%2, y+row*2+d/2, c)
						}
					}
				}
			}
		}
		x += 8
	}
}
