package demo

// The vocabulary of the synthetic register: administrative divisions (GB/T 2260), registering
// authorities, trade names, industries with the standard phrases of business scopes (经营范围
// 规范表述), shops of individual businesses, rural products, people's names and streets.

// place is an administrative division an entity can be located in.
type place struct {
	code     string // GB/T 2260 division
	province string // 浙江省; 北京市 for a municipality
	city     string // 杭州市; "" for a municipality or a province
	district string // 西湖区; "" for a city or a province
}

// full is the written name of the division as it starts an address: 浙江省杭州市西湖区.
func (p place) full() string { return p.province + p.city + p.district }

// short is the name of the city (or municipality, or province) as it starts an enterprise
// name (企业名称中的行政区划): 杭州, 北京, 浙江.
func (p place) short() string {
	switch {
	case p.city != "":
		return trimSuffix(p.city, "市")
	default:
		return trimSuffix(trimSuffix(p.province, "省"), "市")
	}
}

// districtShort is the district without its suffix, as in a branch name: 西湖, 浦东, 安吉.
func (p place) districtShort() string {
	d := p.district
	for _, s := range []string{"新区", "区", "县", "市"} {
		if len(d) > len(s) && d[len(d)-len(s):] == s {
			return d[:len(d)-len(s)]
		}
	}
	return d
}

func trimSuffix(s, suffix string) string {
	if len(s) > len(suffix) && s[len(s)-len(suffix):] == suffix {
		return s[:len(s)-len(suffix)]
	}
	return s
}

// level of a registering authority.
const (
	provincial = 1 // 省级 (and the municipalities)
	municipal  = 2 // 地市级
	district   = 3 // 区县级
)

// authoritySpec is a registering authority (登记机关) of the demo register.
type authoritySpec struct {
	name  string
	at    place
	level int
	// subs are the districts the entities it registers are located in (for provincial and
	// municipal authorities; a district authority's entities are in its own district).
	subs []place
	// towns and products make it register farmers' cooperatives (rural districts only).
	towns    []string
	products []product
}

var (
	pBeijing  = place{"110000", "北京市", "", ""}
	pHaidian  = place{"110108", "北京市", "", "海淀区"}
	pChaoyang = place{"110105", "北京市", "", "朝阳区"}
	pPinggu   = place{"110117", "北京市", "", "平谷区"}

	pShanghai  = place{"310000", "上海市", "", ""}
	pPudong    = place{"310115", "上海市", "", "浦东新区"}
	pXuhui     = place{"310104", "上海市", "", "徐汇区"}
	pChongming = place{"310151", "上海市", "", "崇明区"}

	pZhejiang = place{"330000", "浙江省", "", ""}
	pHangzhou = place{"330100", "浙江省", "杭州市", ""}
	pXihu     = place{"330106", "浙江省", "杭州市", "西湖区"}
	pYuhang   = place{"330110", "浙江省", "杭州市", "余杭区"}
	pYinzhou  = place{"330212", "浙江省", "宁波市", "鄞州区"}
	pAnji     = place{"330523", "浙江省", "湖州市", "安吉县"}

	pGuangdong = place{"440000", "广东省", "", ""}
	pShenzhen  = place{"440300", "广东省", "深圳市", ""}
	pTianhe    = place{"440106", "广东省", "广州市", "天河区"}
	pConghua   = place{"440117", "广东省", "广州市", "从化区"}

	pSichuan = place{"510000", "四川省", "", ""}
	pChengdu = place{"510100", "四川省", "成都市", ""}
	pWuhou   = place{"510107", "四川省", "成都市", "武侯区"}
	pPidu    = place{"510117", "四川省", "成都市", "郫都区"}

	pJiangsu = place{"320000", "江苏省", "", ""}
	pNanjing = place{"320100", "江苏省", "南京市", ""}
	pXuanwu  = place{"320102", "江苏省", "南京市", "玄武区"}
	pWuzhong = place{"320506", "江苏省", "苏州市", "吴中区"}
)

// authoritySpecs are the registering authorities of the demo, in a fixed order.
var authoritySpecs = []authoritySpec{
	{name: "北京市市场监督管理局", at: pBeijing, level: provincial, subs: []place{
		{"110101", "北京市", "", "东城区"}, {"110102", "北京市", "", "西城区"}, pChaoyang, pHaidian,
		{"110106", "北京市", "", "丰台区"}}},
	{name: "北京市海淀区市场监督管理局", at: pHaidian, level: district},
	{name: "北京市朝阳区市场监督管理局", at: pChaoyang, level: district},
	{name: "北京市平谷区市场监督管理局", at: pPinggu, level: district,
		towns:    []string{"刘家店镇", "大华山镇", "峪口镇", "王辛庄镇", "山东庄镇"},
		products: []product{prPeach, prVegetable, prBee, prFruit}},

	{name: "上海市市场监督管理局", at: pShanghai, level: provincial, subs: []place{
		{"310101", "上海市", "", "黄浦区"}, pXuhui, {"310106", "上海市", "", "静安区"}, pPudong}},
	{name: "上海市浦东新区市场监督管理局", at: pPudong, level: district},
	{name: "上海市徐汇区市场监督管理局", at: pXuhui, level: district},
	{name: "上海市崇明区市场监督管理局", at: pChongming, level: district,
		towns:    []string{"竖新镇", "港西镇", "建设镇", "三星镇", "庙镇"},
		products: []product{prRice, prVegetable, prCitrus, prGoat}},

	{name: "浙江省市场监督管理局", at: pZhejiang, level: provincial, subs: []place{
		{"330102", "浙江省", "杭州市", "上城区"}, {"330108", "浙江省", "杭州市", "滨江区"},
		{"330203", "浙江省", "宁波市", "海曙区"}, {"330302", "浙江省", "温州市", "鹿城区"}}},
	{name: "杭州市市场监督管理局", at: pHangzhou, level: municipal, subs: []place{
		{"330102", "浙江省", "杭州市", "上城区"}, {"330105", "浙江省", "杭州市", "拱墅区"}, pXihu,
		{"330108", "浙江省", "杭州市", "滨江区"}, {"330109", "浙江省", "杭州市", "萧山区"}}},
	{name: "杭州市西湖区市场监督管理局", at: pXihu, level: district},
	{name: "杭州市余杭区市场监督管理局", at: pYuhang, level: district,
		towns:    []string{"径山镇", "黄湖镇", "鸬鸟镇", "百丈镇", "瓶窑镇"},
		products: []product{prTea, prBamboo, prVegetable, prSheep, prFruit}},
	{name: "宁波市鄞州区市场监督管理局", at: pYinzhou, level: district,
		towns:    []string{"姜山镇", "东吴镇", "咸祥镇", "塘溪镇", "瞻岐镇"},
		products: []product{prVegetable, prRice, prStrawberry, prBayberry}},
	{name: "安吉县市场监督管理局", at: pAnji, level: district,
		towns:    []string{"溪龙乡", "天荒坪镇", "孝丰镇", "山川乡", "杭垓镇"},
		products: []product{prWhiteTea, prBamboo, prVegetable, prTea}},

	{name: "广东省市场监督管理局", at: pGuangdong, level: provincial, subs: []place{
		{"440104", "广东省", "广州市", "越秀区"}, pTianhe, {"440305", "广东省", "深圳市", "南山区"},
		{"440605", "广东省", "佛山市", "南海区"}}},
	{name: "深圳市市场监督管理局", at: pShenzhen, level: municipal, subs: []place{
		{"440303", "广东省", "深圳市", "罗湖区"}, {"440304", "广东省", "深圳市", "福田区"},
		{"440305", "广东省", "深圳市", "南山区"}, {"440306", "广东省", "深圳市", "宝安区"},
		{"440307", "广东省", "深圳市", "龙岗区"}}},
	{name: "广州市天河区市场监督管理局", at: pTianhe, level: district},
	{name: "广州市从化区市场监督管理局", at: pConghua, level: district,
		towns:    []string{"温泉镇", "鳌头镇", "太平镇", "良口镇", "吕田镇"},
		products: []product{prLitchi, prVegetable, prFlower, prFruit}},

	{name: "四川省市场监督管理局", at: pSichuan, level: provincial, subs: []place{
		{"510104", "四川省", "成都市", "锦江区"}, pWuhou, {"510703", "四川省", "绵阳市", "涪城区"}}},
	{name: "成都市市场监督管理局", at: pChengdu, level: municipal, subs: []place{
		{"510104", "四川省", "成都市", "锦江区"}, {"510105", "四川省", "成都市", "青羊区"}, pWuhou,
		{"510108", "四川省", "成都市", "成华区"}}},
	{name: "成都市武侯区市场监督管理局", at: pWuhou, level: district},
	{name: "成都市郫都区市场监督管理局", at: pPidu, level: district,
		towns:    []string{"唐昌镇", "三道堰镇", "友爱镇", "安德街道", "古城镇"},
		products: []product{prVegetable, prGarlic, prFlower, prMushroom}},

	{name: "江苏省市场监督管理局", at: pJiangsu, level: provincial, subs: []place{
		{"320106", "江苏省", "南京市", "鼓楼区"}, {"320508", "江苏省", "苏州市", "姑苏区"},
		{"320213", "江苏省", "无锡市", "梁溪区"}}},
	{name: "南京市市场监督管理局", at: pNanjing, level: municipal, subs: []place{
		pXuanwu, {"320104", "江苏省", "南京市", "秦淮区"}, {"320105", "江苏省", "南京市", "建邺区"},
		{"320106", "江苏省", "南京市", "鼓楼区"}}},
	{name: "南京市玄武区市场监督管理局", at: pXuanwu, level: district},
	{name: "苏州市吴中区市场监督管理局", at: pWuzhong, level: district,
		towns:    []string{"东山镇", "金庭镇", "临湖镇", "光福镇", "香山街道"},
		products: []product{prBiluochun, prLoquat, prBayberry, prAquatic}},
}

// provinceNames names the provinces (GB/T 2260, first two digits) for authorities outside the
// demo's own table.
var provinceNames = map[string]string{
	"11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
	"21": "辽宁省", "22": "吉林省", "23": "黑龙江省", "31": "上海市", "32": "江苏省",
	"33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
	"41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区",
	"46": "海南省", "50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省",
	"54": "西藏自治区", "61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区",
	"65": "新疆维吾尔自治区",
}

// streets by city (or municipality); other cities use commonStreets.
var streets = map[string][]string{
	"北京": {"中关村大街", "学院路", "知春路", "建国路", "朝阳北路", "望京街", "西直门外大街", "复兴路", "东三环中路", "安立路"},
	"上海": {"南京西路", "淮海中路", "张江路", "世纪大道", "漕溪北路", "肇嘉浜路", "陆家嘴环路", "龙华中路", "祖冲之路", "虹桥路"},
	"杭州": {"文三路", "天目山路", "学院路", "文一西路", "江南大道", "延安路", "莫干山路", "古墩路", "五常大道", "文二西路"},
	"宁波": {"中山东路", "天童南路", "四明中路", "钱湖北路", "日丽中路"},
	"湖州": {"昌硕东路", "天目路", "灵芝东路", "浦源大道"},
	"深圳": {"深南大道", "科技园路", "南海大道", "福华三路", "宝安大道", "龙岗大道", "滨海大道", "侨香路"},
	"广州": {"天河路", "体育西路", "花城大道", "中山大道", "环市东路", "黄埔大道"},
	"成都": {"天府大道", "人民南路", "武侯祠大街", "蜀都大道", "科华北路", "红星路", "一环路南四段"},
	"南京": {"中山路", "北京东路", "珠江路", "中央路", "汉中路", "江东中路"},
	"苏州": {"人民路", "干将西路", "十全街", "石湖路", "苏州大道"},
}

// districtStreets are the streets of districts away from their city's centre.
var districtStreets = map[string][]string{
	"110117": {"府前街", "平谷大街", "新平北路", "林荫北街"},
	"330110": {"文一西路", "五常大道", "临平大道", "良渚大道"},
	"440117": {"河滨北路", "街口大道", "新城东路"},
	"510117": {"望丛中路", "犀安路", "双柏路"},
	"320506": {"东吴北路", "宝带东路", "木东路"},
	"330523": {"昌硕东路", "天目路", "灵芝东路", "浦源大道"},
	"310151": {"八一路", "西门路", "崇明大道", "人民路"},
	"330212": {"天童南路", "钱湖北路", "日丽中路", "首南中路"},
}

var commonStreets = []string{"人民路", "解放路", "中山路", "建设路", "新华路", "长江路", "文化路", "胜利路"}

var villages = []string{"新丰村", "石桥村", "长乐村", "东山村", "大坞村", "高桥村", "双溪村", "青山村", "太平村", "和平村",
	"黄杜村", "南湖村", "上庄村", "龙潭村", "白云村"}

// Trade names (字号) are made of two syllables from these lists.
var (
	tradeFirst = []rune("华恒正博瑞鼎云启锦嘉东新智海银天中万金宏鑫润安卓弘远飞星青明同德信诚康泰盛隆永兴宇创亿众汇联达美佳雅凯")
	tradeLast  = []rune("信达泰远丰盛帆明程禾方锐联纳河成和象桥图源泽泰越毅景扬辰禾德通航科微川晟昊峰铭辉")
)

// industry is a line of business: the words that name it in an enterprise name, and the
// standard phrases of its business scope.
type industry struct {
	words    []string
	general  []string // 一般项目
	licensed []string // 许可项目 (need approval)
}

var (
	indIT = industry{
		words: []string{"科技", "信息技术", "网络科技", "软件", "数据科技", "智能科技"},
		general: []string{"技术服务、技术开发、技术咨询、技术交流、技术转让、技术推广", "软件开发", "信息系统集成服务",
			"信息技术咨询服务", "数据处理和存储支持服务", "计算机系统服务", "网络技术服务", "人工智能应用软件开发",
			"人工智能基础软件开发", "物联网技术服务", "云计算装备技术服务", "大数据服务", "互联网数据服务",
			"数字内容制作服务（不含出版发行）", "计算机软硬件及辅助设备零售", "计算机软硬件及辅助设备批发",
			"通讯设备销售", "信息安全设备销售", "网络设备销售", "集成电路设计", "软件外包服务",
			"区块链技术相关软件和服务", "工业互联网数据服务", "数字技术服务", "智能控制系统集成"},
		licensed: []string{"第二类增值电信业务", "互联网信息服务"},
	}
	indTrade = industry{
		words: []string{"贸易", "商贸", "进出口", "实业"},
		general: []string{"日用百货销售", "五金产品批发", "五金产品零售", "电子产品销售", "服装服饰批发", "服装服饰零售",
			"针纺织品销售", "化妆品批发", "化妆品零售", "家用电器销售", "办公用品销售", "文具用品零售",
			"体育用品及器材零售", "箱包销售", "鞋帽批发", "珠宝首饰零售", "工艺美术品及收藏品零售（象牙及其制品除外）",
			"食品销售（仅销售预包装食品）", "货物进出口", "技术进出口", "进出口代理", "国内贸易代理",
			"互联网销售（除销售需要许可的商品）", "金属材料销售", "化工产品销售（不含许可类化工产品）", "塑料制品销售",
			"橡胶制品销售", "建筑材料销售", "汽车零配件批发", "包装材料及制品销售", "母婴用品销售", "宠物食品及用品零售"},
		licensed: []string{"食品销售", "酒类经营"},
	}
	indCatering = industry{
		words: []string{"餐饮管理", "餐饮", "酒店管理"},
		general: []string{"餐饮管理", "酒店管理", "外卖递送服务", "农副产品销售", "食用农产品零售", "会议及展览服务",
			"单位后勤管理服务", "食品销售（仅销售预包装食品）", "餐饮器具集中消毒服务", "家政服务"},
		licensed: []string{"餐饮服务", "食品销售"},
	}
	indConstruction = industry{
		words: []string{"建设工程", "建筑工程", "装饰工程", "建筑装饰"},
		general: []string{"住宅室内装饰装修", "建筑装饰材料销售", "工程管理服务", "园林绿化工程施工", "土石方工程施工",
			"市政设施管理", "对外承包工程", "建筑工程机械与设备租赁", "普通机械设备安装服务", "规划设计管理",
			"专业设计服务", "金属门窗工程施工", "体育场地设施工程施工", "建筑用石加工"},
		licensed: []string{"建设工程施工", "建设工程设计", "施工专业作业"},
	}
	indMedia = industry{
		words: []string{"文化传媒", "文化创意", "广告", "影视文化"},
		general: []string{"组织文化艺术交流活动", "广告设计、代理", "广告制作", "广告发布", "会议及展览服务", "摄影扩印服务",
			"图文设计制作", "平面设计", "企业形象策划", "市场营销策划", "文艺创作", "数字文化创意内容应用服务",
			"礼仪服务", "版权代理", "电影摄制服务", "专业设计服务"},
		licensed: []string{"广播电视节目制作经营", "演出经纪"},
	}
	indLogistics = industry{
		words: []string{"物流", "供应链管理", "货运代理", "仓储"},
		general: []string{"普通货物仓储服务（不含危险化学品等需许可审批的项目）", "国内货物运输代理", "国际货物运输代理",
			"装卸搬运", "供应链管理服务", "低温仓储（不含危险化学品等需许可审批的项目）", "包装服务", "无船承运业务",
			"运输货物打包服务", "停车场服务", "城市配送运输服务（不含危险货物）", "国内集装箱货物运输代理"},
		licensed: []string{"道路货物运输（不含危险货物）", "道路货物运输（网络货运）"},
	}
	indConsulting = industry{
		words: []string{"企业管理咨询", "信息咨询", "商务咨询", "企业管理"},
		general: []string{"企业管理咨询", "企业管理", "信息咨询服务（不含许可类信息咨询服务）", "市场调查（不含涉外调查）",
			"社会经济咨询服务", "人力资源服务（不含职业中介活动、劳务派遣服务）", "财务咨询", "税务服务", "商务秘书服务",
			"翻译服务", "知识产权服务（专利代理服务除外）", "品牌管理", "咨询策划服务", "企业信用管理咨询服务",
			"安全咨询服务", "环保咨询服务"},
		licensed: []string{"职业中介活动", "劳务派遣服务"},
	}
	indMedical = industry{
		words: []string{"医疗器械", "生物科技", "医药科技", "健康科技"},
		general: []string{"第一类医疗器械销售", "第二类医疗器械销售", "医学研究和试验发展", "生物化工产品技术研发",
			"卫生用品和一次性使用医疗用品销售", "健康咨询服务（不含诊疗服务）", "消毒剂销售（不含危险化学品）",
			"实验分析仪器销售", "专用化学产品销售（不含危险化学品）", "日用口罩（非医用）销售", "保健食品（预包装）销售",
			"细胞技术研发和应用", "第一类医疗器械生产"},
		licensed: []string{"第三类医疗器械经营", "第二类医疗器械生产", "药品零售"},
	}
	indEnergy = industry{
		words: []string{"新能源", "能源科技", "光伏科技", "储能科技"},
		general: []string{"太阳能发电技术服务", "储能技术服务", "新能源汽车整车销售", "电池销售", "光伏设备及元器件销售",
			"充电桩销售", "电动汽车充电基础设施运营", "合同能源管理", "节能管理服务", "风力发电技术服务",
			"新兴能源技术研发", "输配电及控制设备制造", "电力电子元器件销售", "蓄电池租赁", "光伏设备及元器件制造"},
		licensed: []string{"发电业务、输电业务、供（配）电业务", "输电、供电、受电电力设施的安装、维修和试验"},
	}
	indMachinery = industry{
		words: []string{"机械", "电子", "智能装备", "自动化设备", "精密机械"},
		general: []string{"通用设备制造（不含特种设备制造）", "机械设备销售", "电子元器件制造", "电子元器件批发",
			"电机及其控制系统研发", "工业自动控制系统装置制造", "智能机器人的研发", "智能机器人销售", "模具制造",
			"金属制品研发", "五金产品制造", "塑料制品制造", "仪器仪表制造", "工业设计服务", "机械零件、零部件加工",
			"专用设备修理", "通用设备修理", "机械设备租赁", "环境保护专用设备制造"},
		licensed: []string{"特种设备制造", "特种设备安装改造修理"},
	}
	indAgritech = industry{
		words: []string{"农业科技", "生态农业", "农业开发", "茶业"},
		general: []string{"蔬菜种植", "水果种植", "茶叶种植", "花卉种植", "谷物种植",
			"农产品的生产、销售、加工、运输、贮藏及其他相关服务", "农业机械服务", "农业生产托管服务",
			"农业专业及辅助性活动", "初级农产品收购", "农作物病虫害防治服务", "畜牧渔业饲料销售", "休闲观光活动",
			"农业园艺服务", "林业产品销售", "食用菌种植", "智能农业管理", "农业科学研究和试验发展"},
		licensed: []string{"农作物种子经营", "食品生产"},
	}
	indEducation = industry{
		words: []string{"教育科技", "文化艺术", "体育发展"},
		general: []string{"教育咨询服务（不含涉许可审批的教育培训活动）", "业务培训（不含教育培训、职业技能培训等需取得许可的培训）",
			"组织文化艺术交流活动", "教学用模型及教具销售", "体育竞赛组织", "健身休闲活动", "图书出租", "文艺创作",
			"组织体育表演活动", "体育用品及器材批发", "票务代理服务", "青少年素质教育培训（不含学科类培训）"},
		licensed: []string{"出版物零售", "营业性演出"},
	}
	indInvestment = industry{
		words: []string{"投资管理", "股权投资", "创业投资", "资产管理"},
		general: []string{"以私募基金从事股权投资、投资管理、资产管理等活动（须在中国证券投资基金业协会完成登记备案后方可从事经营活动）",
			"股权投资", "创业投资（限投资未上市企业）", "以自有资金从事投资活动", "自有资金投资的资产管理服务",
			"企业管理咨询", "社会经济咨询服务", "财务咨询"},
	}
)

var (
	indProperty = industry{
		words: []string{"物业管理", "房地产经纪", "置业"},
		general: []string{"物业管理", "房地产经纪", "房地产咨询", "住房租赁", "非居住房地产租赁", "停车场服务", "家政服务",
			"专业保洁、清洗、消毒服务", "城市绿化管理", "商业综合体管理服务", "白蚁防治服务", "票务代理服务", "集贸市场管理服务"},
		licensed: []string{"房地产开发经营"},
	}
	indTourism = industry{
		words: []string{"旅游发展", "文化旅游", "会展服务"},
		general: []string{"旅游开发项目策划咨询", "游览景区管理", "露营地服务", "旅客票务代理", "体验式拓展活动及策划",
			"名胜风景区管理", "园区管理服务", "工艺美术品及礼仪用品销售（象牙及其制品除外）", "旅行社服务网点旅游招徕、咨询服务",
			"会议及展览服务", "休闲观光活动", "特色农产品种植及观光"},
		licensed: []string{"旅游业务", "住宿服务", "高危险性体育运动（游泳）"},
	}
	indAuto = industry{
		words: []string{"汽车销售服务", "汽车服务", "汽车科技"},
		general: []string{"汽车销售", "汽车新车销售", "汽车零配件零售", "汽车装饰用品销售", "机动车修理和维护", "二手车经纪",
			"汽车租赁", "汽车拖车、求援、清障服务", "洗车服务", "机动车充电销售", "小微型客车租赁经营服务", "轮胎销售"},
		licensed: []string{"机动车检验检测服务", "保险兼业代理业务"},
	}
	indEnvironment = industry{
		words: []string{"环保科技", "环境工程", "环境科技"},
		general: []string{"环境保护监测", "大气污染治理", "水污染治理", "固体废物治理", "土壤污染治理与修复服务",
			"资源再生利用技术研发", "再生资源回收（除生产性废旧金属）", "环境保护专用设备销售", "污水处理及其再生利用",
			"生态恢复及生态保护服务", "碳减排、碳转化、碳捕捉、碳封存技术研发", "环境应急治理服务", "噪声与振动控制服务"},
		licensed: []string{"城市生活垃圾经营性服务", "危险废物经营"},
	}
	indTextile = industry{
		words: []string{"纺织", "服饰", "家纺"},
		general: []string{"面料纺织加工", "服装制造", "服饰制造", "针织或钩针编织物及其制品制造", "家用纺织制成品制造",
			"产业用纺织制成品销售", "纺织专用设备销售", "服装辅料销售", "面料印染加工", "鞋制造", "皮革制品销售",
			"羽毛（绒）及制品销售", "劳动保护用品销售"},
	}
	indSecurity = industry{
		words: []string{"安防科技", "智能安防", "消防科技"},
		general: []string{"安全系统监控服务", "安防设备销售", "安防设备制造", "消防器材销售", "消防技术服务",
			"数字视频监控系统销售", "智能家庭消费设备销售", "物联网设备销售", "信息系统运行维护服务", "安全技术防范系统设计施工服务",
			"门窗销售"},
		licensed: []string{"建筑智能化系统设计", "消防设施工程施工"},
	}
	indFood = industry{
		words: []string{"食品", "农产品", "粮油"},
		general: []string{"食用农产品批发", "农副产品销售", "粮食收购", "谷物销售", "豆及薯类销售", "水产品批发", "鲜肉批发",
			"新鲜蔬菜批发", "新鲜水果批发", "食品进出口", "食品添加剂销售", "供应链管理服务", "食用农产品初加工"},
		licensed: []string{"食品生产", "食品销售", "粮食加工食品生产"},
	}
	indPrinting = industry{
		words: []string{"印务", "包装", "包装材料"},
		general: []string{"包装材料及制品销售", "纸制品制造", "纸制品销售", "塑料包装箱及容器制造", "包装服务", "专业设计服务",
			"图文设计制作", "办公用品销售", "油墨销售（不含危险化学品）", "金属包装容器及材料制造"},
		licensed: []string{"包装装潢印刷品印刷", "出版物印刷"},
	}
	indFurniture = industry{
		words: []string{"家居", "家具", "装饰材料"},
		general: []string{"家具制造", "家具销售", "家具零配件销售", "家居用品销售", "木制容器制造", "竹制品销售",
			"家具安装和维修服务", "软木制品销售", "灯具销售", "卫生洁具销售", "地板销售", "门窗制造加工", "日用木制品销售"},
	}
)

// companyIndustries are the industries of companies, branches and sole proprietorships.
var companyIndustries = []*industry{&indIT, &indTrade, &indCatering, &indConstruction, &indMedia, &indLogistics,
	&indConsulting, &indMedical, &indEnergy, &indMachinery, &indAgritech, &indEducation, &indProperty, &indTourism,
	&indAuto, &indEnvironment, &indTextile, &indSecurity, &indFood, &indPrinting, &indFurniture}

// allIndustries is the phrase pool for very long scopes.
var allIndustries = append(append([]*industry{}, companyIndustries...), &indInvestment)

// companyForm is a type (类型) of company with its name suffix, capital and branch type.
type companyForm struct {
	typ        string   // 类型 on the licence
	suffix     string   // 组织形式 at the end of the name
	branchType string   // 类型 of its branches
	capital    []string // amounts in 万
	currency   []string
	foreign    bool // name puts the region in brackets: 博远电子科技（深圳）有限公司
}

var (
	formNatural = companyForm{typ: "有限责任公司（自然人投资或控股）", suffix: "有限公司",
		branchType: "有限责任公司分公司（自然人投资或控股）",
		capital:    []string{"3", "5", "10", "30", "50", "100", "100", "200", "300", "500", "500", "1000", "2000"}, currency: []string{"CNY"}}
	formSole = companyForm{typ: "有限责任公司（自然人独资）", suffix: "有限公司",
		branchType: "有限责任公司分公司（自然人独资）",
		capital:    []string{"1", "5", "10", "20", "50", "100", "200"}, currency: []string{"CNY"}}
	formOther = companyForm{typ: "其他有限责任公司", suffix: "有限公司", branchType: "其他有限责任公司分公司",
		capital: []string{"100", "500", "1000", "3000", "5000", "10000"}, currency: []string{"CNY"}}
	formJoint = companyForm{typ: "股份有限公司（非上市、自然人投资或控股）", suffix: "股份有限公司",
		branchType: "股份有限公司分公司（非上市、自然人投资或控股）",
		capital:    []string{"1000", "2000", "3000", "5000", "6000", "8000", "10000"}, currency: []string{"CNY"}}
	formListed = companyForm{typ: "股份有限公司（上市、自然人投资或控股）", suffix: "股份有限公司",
		branchType: "股份有限公司分公司（上市、自然人投资或控股）",
		capital:    []string{"12000", "36000", "48512.6", "80000", "102400", "216000"}, currency: []string{"CNY"}}
	formForeign = companyForm{typ: "有限责任公司（外国法人独资）", suffix: "有限公司", branchType: "外商投资企业分公司",
		capital: []string{"50", "100", "150", "200", "500", "1000", "3000"}, currency: []string{"USD", "USD", "USD", "EUR"}, foreign: true}
	formHKMT = companyForm{typ: "有限责任公司（台港澳法人独资）", suffix: "有限公司", branchType: "外商投资企业分公司",
		capital: []string{"100", "200", "500", "1000", "2000"}, currency: []string{"HKD", "USD"}, foreign: true}
	formState = companyForm{typ: "有限责任公司（国有独资）", suffix: "控股集团有限公司", branchType: "有限责任公司分公司（国有独资）",
		capital: []string{"10000", "50000", "100000", "300000"}, currency: []string{"CNY"}}
)

// Company forms by the level of the registering authority, repeated by weight.
var (
	provincialForms = []*companyForm{&formJoint, &formJoint, &formJoint, &formListed, &formForeign, &formForeign,
		&formForeign, &formHKMT, &formState, &formOther, &formOther}
	localForms = []*companyForm{&formNatural, &formNatural, &formNatural, &formNatural, &formNatural, &formNatural,
		&formSole, &formSole, &formSole, &formOther, &formJoint, &formForeign}
)

// branchForms are the forms of the companies branches belong to.
var branchForms = append(append([]*companyForm{}, localForms...), provincialForms...)

// shop is a kind of shop of an individual business (个体工商户).
type shop struct {
	name  string
	scope []string
}

var shops = []shop{
	{"便利店", []string{"日用百货销售", "食品销售（仅销售预包装食品）", "烟草制品零售", "食用农产品零售", "文具用品零售"}},
	{"水果店", []string{"新鲜水果零售", "食用农产品零售", "农副产品销售"}},
	{"面馆", []string{"餐饮服务（不产生油烟、异味、废气）", "小餐饮", "食品销售（仅销售预包装食品）"}},
	{"小吃店", []string{"小餐饮", "食品小作坊经营", "外卖递送服务"}},
	{"理发店", []string{"理发服务", "美容服务", "化妆品零售"}},
	{"五金店", []string{"五金产品零售", "建筑装饰材料销售", "电线、电缆经营", "灯具销售", "日用杂品销售"}},
	{"服装店", []string{"服装服饰零售", "鞋帽零售", "箱包销售", "针纺织品销售"}},
	{"家电维修部", []string{"日用电器修理", "家用电器销售", "通讯设备修理", "计算机及办公设备维修"}},
	{"茶叶店", []string{"茶具销售", "食品销售（仅销售预包装食品）", "食用农产品零售"}},
	{"洗衣店", []string{"洗烫服务", "家政服务", "皮革、毛皮、羽毛及其制品修理"}},
	{"花店", []string{"花卉绿植租借与代管理", "礼品花卉销售", "园艺产品销售"}},
	{"汽车美容店", []string{"洗车服务", "汽车装饰用品销售", "机动车修理和维护"}},
	{"图文打印店", []string{"图文设计制作", "办公服务", "打字复印"}},
	{"烟酒店", []string{"烟草制品零售", "酒类经营", "食品销售（仅销售预包装食品）"}},
	{"早餐店", []string{"小餐饮", "食品销售（仅销售预包装食品）", "外卖递送服务"}},
	{"副食店", []string{"食品销售（仅销售预包装食品）", "食用农产品零售", "日用百货销售", "粮油零售"}},
}

// product is what a farmers' cooperative grows or raises.
type product struct {
	name  string // in the name: 白茶, 蔬菜, 蜜蜂养殖
	scope []string
}

var coopCommon = []string{"组织采购、供应成员所需的生产资料", "组织收购、销售成员生产的产品",
	"开展成员所需的运输、贮藏、加工、包装等服务", "引进新技术、新品种，开展技术培训、技术交流和信息咨询服务"}

var (
	prTea        = product{"茶叶", []string{"茶叶种植", "茶叶初加工", "茶叶销售"}}
	prWhiteTea   = product{"白茶", []string{"白茶种植", "茶叶初加工", "茶叶销售"}}
	prBiluochun  = product{"碧螺春茶叶", []string{"茶叶种植", "茶叶初加工", "茶叶销售"}}
	prVegetable  = product{"蔬菜种植", []string{"蔬菜种植", "蔬菜销售"}}
	prFruit      = product{"水果种植", []string{"水果种植", "水果销售"}}
	prPeach      = product{"大桃种植", []string{"桃树种植", "鲜桃销售"}}
	prBee        = product{"蜜蜂养殖", []string{"蜜蜂养殖", "蜂产品销售"}}
	prBamboo     = product{"竹笋", []string{"竹笋种植", "竹笋初加工", "竹笋销售"}}
	prSheep      = product{"湖羊养殖", []string{"湖羊养殖", "活羊销售"}}
	prRice       = product{"粮油", []string{"水稻种植", "大米加工", "粮食收购"}}
	prStrawberry = product{"草莓", []string{"草莓种植", "草莓销售", "休闲采摘"}}
	prBayberry   = product{"杨梅", []string{"杨梅种植", "杨梅销售", "休闲采摘"}}
	prLitchi     = product{"荔枝", []string{"荔枝种植", "荔枝销售"}}
	prFlower     = product{"花卉苗木", []string{"花卉种植", "苗木种植", "花卉苗木销售"}}
	prGarlic     = product{"大蒜种植", []string{"大蒜种植", "蔬菜销售"}}
	prMushroom   = product{"食用菌", []string{"食用菌种植", "食用菌销售"}}
	prLoquat     = product{"枇杷", []string{"枇杷种植", "枇杷销售", "休闲采摘"}}
	prAquatic    = product{"水产养殖", []string{"淡水养殖", "水产品销售"}}
	prCitrus     = product{"柑橘种植", []string{"柑橘种植", "水果销售", "休闲采摘"}}
	prGoat       = product{"白山羊养殖", []string{"山羊养殖", "活羊销售"}}
)

// The most common surnames (百家姓 by frequency) and given names.
var (
	surnames    = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
	givenMale   = []string{"伟", "强", "磊", "军", "勇", "杰", "涛", "明", "超", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波", "斌", "宇", "浩", "凯", "健", "俊", "帆", "旭", "宁", "龙", "林", "建国", "建华", "志强", "志明", "海涛", "文博", "子轩", "浩然", "宇航", "俊杰", "国平", "永刚", "卫东", "晓东", "振华", "家豪"}
	givenFemale = []string{"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "琳", "慧", "晶", "颖", "倩", "洁", "秀英", "桂英", "玉兰", "丽华", "晓丽", "雅琴", "欣怡", "梓涵", "诗涵", "思雨", "美玲", "红梅", "秀兰", "丽娟", "晓燕", "佳怡", "雨桐"}
)

// Reasons of status changes (登记机关作出的决定或持照人的申请).
var (
	suspendReasons = []string{
		"涉嫌使用虚假身份信息办理登记，登记机关依法暂停电子营业执照使用，待调查核实",
		"持照人申请暂停使用电子营业执照（证照管理人员变动）",
		"电子营业执照疑似被他人冒用，经持照人申请暂停使用",
	}
	restoreReasons = []string{
		"调查核实完毕，恢复电子营业执照使用",
		"持照人完成证照管理员变更，申请恢复使用",
	}
	revokeReasons = []string{
		"成立后无正当理由超过六个月未开业，或者开业后自行停业连续六个月以上，依法吊销营业执照",
		"提交虚假材料取得市场主体登记，情节严重，依法吊销营业执照",
		"被列入经营异常名录满三年仍未履行公示义务，列入严重违法失信名单，依法吊销营业执照",
	}
	cancelReasons = map[string][]string{
		"company":             {"股东会决议解散，清算完毕，申请注销登记", "简易注销：未发生债权债务，全体投资人书面承诺"},
		"branch":              {"隶属企业决定撤销分公司，申请注销登记"},
		"partnership":         {"全体合伙人决定解散，清算完毕，申请注销登记", "合伙期限届满，合伙人决定不再经营"},
		"sole_proprietorship": {"投资人决定解散，清算完毕，申请注销登记"},
		"individual":          {"经营者申请注销登记（不再经营）", "经营者申请简易注销"},
		"cooperative":         {"成员大会决议解散，清算完毕，申请注销登记"},
		"revoked":             {"被吊销营业执照后清算完毕，申请注销登记"},
	}
)
