package document

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/elicense/elicense/internal/license"
)

// chinaTime is the time zone dates on a licence are printed in (UTC+8, no DST).
var chinaTime = time.FixedZone("CST", 8*3600)

// dateZH prints a date as real licences do: 2016年05月20日.
func dateZH(t time.Time) string { return t.In(chinaTime).Format("2006年01月02日") }

// faceDate prints a YYYY-MM-DD face date as 2016年05月20日 (the input unchanged when it is not a
// date, which validation prevents).
func faceDate(s string) string {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return s
	}
	return t.Format("2006年01月02日")
}

// term prints a business term: 2016年05月20日 至 长期.
func term(from, to string) string {
	if from == "" && to == "" {
		return ""
	}
	if to == license.LongTerm || to == "" {
		to = license.LongTerm
	} else {
		to = faceDate(to)
	}
	return faceDate(from) + " 至 " + to
}

// currencyNames are the currency words printed after an amount (ISO 4217 → Chinese).
var currencyNames = map[string]string{
	"CNY": "元", "USD": "美元", "EUR": "欧元", "HKD": "港元", "JPY": "日元", "GBP": "英镑", "MOP": "澳门元",
	"TWD": "新台币", "SGD": "新加坡元", "AUD": "澳大利亚元", "CAD": "加拿大元", "CHF": "瑞士法郎", "KRW": "韩元",
}

// capitalText prints registered capital as the licence face does: the amount in Chinese
// financial numerals (大写), e.g. "100" 万 CNY → 壹佰万元整, "12.5" → 壹拾贰万伍仟元整; a foreign
// currency is named after the amount: 壹佰万美元. See docs/documents.md for the decision.
func capitalText(c *license.Capital) string {
	if c == nil {
		return ""
	}
	cur := strings.ToUpper(c.Currency)
	if cur == "" {
		cur = "CNY"
	}
	unit, ok := currencyNames[cur]
	if !ok {
		unit = cur
	}
	intPart, frac, _ := strings.Cut(strings.TrimSpace(c.Amount), ".")
	frac = (frac + "000000")[:6] // 万 has 4 decimal places to the yuan, then 角 and 分
	digits := strings.TrimLeft(intPart+frac[:4], "0")
	jiao, fen := frac[4]-'0', frac[5]-'0'
	if !allDigits(intPart) || !allDigits(frac) || len(digits) > 20 {
		return c.Amount + "万" + unit
	}
	var b strings.Builder
	if digits != "" {
		b.WriteString(upperInteger(digits))
	} else if jiao == 0 && fen == 0 {
		b.WriteString("零")
	}
	if digits != "" || cur != "CNY" {
		b.WriteString(unit)
	}
	if cur != "CNY" {
		if jiao != 0 || fen != 0 { // fractions of a foreign unit: keep the decimal figure
			return c.Amount + "万" + unit
		}
		return b.String()
	}
	switch {
	case jiao == 0 && fen == 0:
		b.WriteString("整")
	case fen == 0:
		b.WriteString(upperDigit[jiao] + "角整")
	case jiao == 0:
		if digits != "" {
			b.WriteString("零")
		}
		b.WriteString(upperDigit[fen] + "分")
	default:
		b.WriteString(upperDigit[jiao] + "角" + upperDigit[fen] + "分")
	}
	return b.String()
}

var upperDigit = []string{"零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"}

// upperInteger writes a positive integer (decimal digits, no leading zeros) in financial
// numerals: groups of four digits with 万, 亿, 万亿, 亿亿.
func upperInteger(digits string) string {
	small := []string{"", "拾", "佰", "仟"}
	big := []string{"", "万", "亿", "万亿", "亿亿"}
	var groups []string
	for len(digits) > 0 {
		n := len(digits) % 4
		if n == 0 {
			n = 4
		}
		groups = append(groups, digits[:n])
		digits = digits[n:]
	}
	var b strings.Builder
	zero := false // a zero is pending between non-zero digits
	for gi, g := range groups {
		g = strings.Repeat("0", 4-len(g)) + g
		level := len(groups) - 1 - gi
		nonZero := false
		for i := 0; i < 4; i++ {
			d := g[i] - '0'
			if d == 0 {
				zero = b.Len() > 0
				continue
			}
			if zero {
				b.WriteString("零")
				zero = false
			}
			b.WriteString(upperDigit[d] + small[3-i])
			nonZero = true
		}
		if nonZero && level < len(big) {
			b.WriteString(big[level])
		}
	}
	return b.String()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Kinsoku (禁则) of Chinese typesetting (GB/T 15834, W3C clreq): characters that may not begin a
// line, and characters that may not end one.
const (
	noStart = "、，。；：？！）」』》〉】〕〗｝］％‰·…—～’”,.;:?!)]}%'\"'"
	noEnd   = "（「『《〈【〔〖｛［‘“([{"
)

func isNoStart(r rune) bool { return strings.ContainsRune(noStart, r) }
func isNoEnd(r rune) bool   { return strings.ContainsRune(noEnd, r) }

// isWordRune reports runes that form unbreakable runs: Latin letters, digits and the characters
// of numbers, codes, URLs and e-mail addresses.
func isWordRune(r rune) bool {
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-_./:@#&=+~", r))
}

// measure is a width function in em.
type measure func(r rune) float64

// wrap breaks text into lines at most width wide (width in em units of the font size), by the
// rules of Chinese line breaking: any break between ideographs, none inside a Latin word or
// number (unless the word alone is wider than a line), no line starting with closing
// punctuation, none ending with opening punctuation. Hard line breaks are kept. Spaces at the
// start of a wrapped line are dropped.
func wrap(text string, width float64, adv measure) []string {
	var lines []string
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		lines = append(lines, wrapPara(para, width, adv)...)
	}
	return lines
}

// token is an unbreakable unit of a paragraph.
type token struct {
	s string
	w float64
}

func tokenize(para string, adv measure) []token {
	var toks []token
	rs := []rune(para)
	for i := 0; i < len(rs); {
		j := i + 1
		if isWordRune(rs[i]) {
			for j < len(rs) && isWordRune(rs[j]) {
				j++
			}
		}
		// Openers glue to what follows; closers to what precedes (below).
		for j < len(rs) && isNoEnd(rs[j-1]) {
			j++
			if j-1 < len(rs) && isWordRune(rs[j-1]) {
				for j < len(rs) && isWordRune(rs[j]) {
					j++
				}
			}
		}
		for j < len(rs) && isNoStart(rs[j]) {
			j++
		}
		s := string(rs[i:j])
		w := 0.0
		for _, r := range rs[i:j] {
			w += adv(r)
		}
		toks = append(toks, token{s, w})
		i = j
	}
	return toks
}

func wrapPara(para string, width float64, adv measure) []string {
	if para == "" {
		return []string{""}
	}
	var lines []string
	var cur strings.Builder
	curW := 0.0
	flush := func() {
		lines = append(lines, cur.String())
		cur.Reset()
		curW = 0
	}
	for _, t := range tokenize(para, adv) {
		if cur.Len() == 0 && strings.TrimSpace(t.s) == "" && len(lines) > 0 {
			continue // no leading space on a wrapped line
		}
		if curW+t.w <= width+1e-9 {
			cur.WriteString(t.s)
			curW += t.w
			continue
		}
		if cur.Len() > 0 {
			flush()
			if strings.TrimSpace(t.s) == "" {
				continue
			}
		}
		if t.w <= width+1e-9 {
			cur.WriteString(t.s)
			curW = t.w
			continue
		}
		// A token wider than a line (a long URL, a run of punctuation): break it by characters,
		// keeping closing punctuation off the start of a line where the line allows.
		rs := []rune(t.s)
		for len(rs) > 0 {
			n, w := 0, 0.0
			for n < len(rs) && (n == 0 || w+adv(rs[n]) <= width+1e-9) {
				w += adv(rs[n])
				n++
			}
			for n > 1 && n < len(rs) && isNoStart(rs[n]) {
				n--
			}
			if n == len(rs) {
				cur.WriteString(string(rs))
				curW = w
				break
			}
			cur.WriteString(string(rs[:n]))
			flush()
			rs = rs[n:]
		}
	}
	if cur.Len() > 0 {
		flush()
	}
	return lines
}

// runeCount is utf8.RuneCountInString, named for the layout code.
func runeCount(s string) int { return utf8.RuneCountInString(s) }
