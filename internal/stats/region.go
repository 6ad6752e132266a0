package stats

import (
	"strings"
	"time"

	"github.com/elicense/elicense/internal/ident"
	"github.com/elicense/elicense/internal/uscc"
)

// China is the time zone the statistics count days in (China Standard Time has no daylight time).
var China = time.FixedZone("UTC+8", 8*60*60)

// DayOf returns 00:00 China Standard Time of the day t falls on, in UTC.
func DayOf(t time.Time) time.Time {
	y, m, d := t.In(China).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, China).UTC()
}

// Unknown is the region of an event whose subject is no credit code and whose data names no
// division.
const Unknown = "unknown"

// National is the division code of national (中央) registration: positions 3–8 "100000".
const National = "100000"

// RegionOf returns the city-level GB/T 2260 division of an event: from the subject when it is a
// unified social credit code (positions 3–8, GB 32100-2015), a legacy 注册号 (its first six
// digits) or a licence identifier (its issuer's division); otherwise from the division in the
// event's data; otherwise Unknown. The county digits are dropped ("330106" → "330100"), so the
// roll-up has one row per city; a province-level division stays as it is ("330000").
func RegionOf(subject, dataRegion string) string {
	if d := divisionOf(subject); d != "" {
		return City(d)
	}
	if isDivision(dataRegion) {
		return City(dataRegion)
	}
	return Unknown
}

// divisionOf returns the division a subject names, or "".
func divisionOf(subject string) string {
	switch len(subject) {
	case uscc.Len:
		return uscc.Division(subject)
	case 15: // legacy 注册号: 6-digit authority division + 8-digit sequence + check digit
		if isDigits(subject) {
			return subject[:6]
		}
		return ""
	}
	if strings.HasPrefix(subject, "1.2.156.") {
		if id, err := ident.Parse(strings.ToUpper(subject)); err == nil {
			if d := uscc.Division(id.Issuer); d != "" {
				return d
			}
			if isDivision(id.Issuer) {
				return id.Issuer
			}
		}
	}
	return ""
}

// City returns the city-level division of a six-digit division code: "330106" → "330100". The
// national code stays "100000".
func City(division string) string {
	if !isDivision(division) {
		return Unknown
	}
	if division == National {
		return National
	}
	return division[:4] + "00"
}

// Province returns the province-level division of a division code: "330106" → "330000".
func Province(division string) string {
	if !isDivision(division) {
		return Unknown
	}
	if division == National {
		return National
	}
	return division[:2] + "0000"
}

func isDivision(s string) bool { return len(s) == 6 && isDigits(s) }

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// RegionName returns the name of a province- or city-level division in zh-CN and English. A
// city without a name in the table is shown as its province and code.
func RegionName(code string) (zh, en string) {
	switch {
	case code == Unknown || code == "":
		return "未知地区", "Unknown region"
	case code == National:
		return "国家级", "National"
	case !isDivision(code):
		return code, code
	}
	p, ok := provinces[code[:2]]
	if !ok {
		return code, code
	}
	if code[2:] == "0000" {
		return p[0], p[1]
	}
	if c, ok := cities[code[:4]]; ok {
		return p[0] + c[0], c[1] + ", " + p[1]
	}
	return p[0] + " " + code, p[1] + " " + code
}

// provinces are the province-level divisions of GB/T 2260 by their first two digits.
var provinces = map[string][2]string{
	"11": {"北京市", "Beijing"}, "12": {"天津市", "Tianjin"}, "13": {"河北省", "Hebei"},
	"14": {"山西省", "Shanxi"}, "15": {"内蒙古自治区", "Inner Mongolia"}, "21": {"辽宁省", "Liaoning"},
	"22": {"吉林省", "Jilin"}, "23": {"黑龙江省", "Heilongjiang"}, "31": {"上海市", "Shanghai"},
	"32": {"江苏省", "Jiangsu"}, "33": {"浙江省", "Zhejiang"}, "34": {"安徽省", "Anhui"},
	"35": {"福建省", "Fujian"}, "36": {"江西省", "Jiangxi"}, "37": {"山东省", "Shandong"},
	"41": {"河南省", "Henan"}, "42": {"湖北省", "Hubei"}, "43": {"湖南省", "Hunan"},
	"44": {"广东省", "Guangdong"}, "45": {"广西壮族自治区", "Guangxi"}, "46": {"海南省", "Hainan"},
	"50": {"重庆市", "Chongqing"}, "51": {"四川省", "Sichuan"}, "52": {"贵州省", "Guizhou"},
	"53": {"云南省", "Yunnan"}, "54": {"西藏自治区", "Xizang"}, "61": {"陕西省", "Shaanxi"},
	"62": {"甘肃省", "Gansu"}, "63": {"青海省", "Qinghai"}, "64": {"宁夏回族自治区", "Ningxia"},
	"65": {"新疆维吾尔自治区", "Xinjiang"}, "71": {"台湾省", "Taiwan"}, "81": {"香港特别行政区", "Hong Kong"},
	"82": {"澳门特别行政区", "Macao"},
}

// cities names the city-level divisions of the provincial capitals and of the demo register;
// other cities are shown by code.
var cities = map[string][2]string{
	"1101": {"市辖区", "city districts"}, "1201": {"市辖区", "city districts"},
	"3101": {"市辖区", "city districts"}, "5001": {"市辖区", "city districts"},
	"1301": {"石家庄市", "Shijiazhuang"}, "1401": {"太原市", "Taiyuan"}, "1501": {"呼和浩特市", "Hohhot"},
	"2101": {"沈阳市", "Shenyang"}, "2201": {"长春市", "Changchun"}, "2301": {"哈尔滨市", "Harbin"},
	"3201": {"南京市", "Nanjing"}, "3205": {"苏州市", "Suzhou"}, "3301": {"杭州市", "Hangzhou"},
	"3302": {"宁波市", "Ningbo"}, "3305": {"湖州市", "Huzhou"}, "3401": {"合肥市", "Hefei"},
	"3501": {"福州市", "Fuzhou"}, "3502": {"厦门市", "Xiamen"}, "3601": {"南昌市", "Nanchang"},
	"3701": {"济南市", "Jinan"}, "4101": {"郑州市", "Zhengzhou"}, "4201": {"武汉市", "Wuhan"},
	"4301": {"长沙市", "Changsha"}, "4401": {"广州市", "Guangzhou"}, "4403": {"深圳市", "Shenzhen"},
	"4501": {"南宁市", "Nanning"}, "4601": {"海口市", "Haikou"}, "5101": {"成都市", "Chengdu"},
	"5201": {"贵阳市", "Guiyang"}, "5301": {"昆明市", "Kunming"}, "5401": {"拉萨市", "Lhasa"},
	"6101": {"西安市", "Xi'an"}, "6201": {"兰州市", "Lanzhou"}, "6301": {"西宁市", "Xining"},
	"6401": {"银川市", "Yinchuan"}, "6501": {"乌鲁木齐市", "Urumqi"},
}
