"""The demo network: a lead hospital in Beijing and 24 partners in 15 provinces (real institutions, fictional data)."""

# (code, name_zh, name_en, province, city)
LEAD = ("BJYY", "首都医科大学附属北京友谊医院", "Beijing Friendship Hospital, Capital Medical University", "Beijing", "Beijing")
PARTNERS = [
    ("BJET", "首都医科大学附属北京儿童医院", "Beijing Children's Hospital, Capital Medical University", "Beijing", "Beijing"),
    ("SHET", "上海交通大学医学院附属上海儿童医学中心", "Shanghai Children's Medical Center", "Shanghai", "Shanghai"),
    ("SHFD", "复旦大学附属儿科医院", "Children's Hospital of Fudan University", "Shanghai", "Shanghai"),
    ("GZFE", "广州市妇女儿童医疗中心", "Guangzhou Women and Children's Medical Center", "Guangdong", "Guangzhou"),
    ("SYSU", "中山大学肿瘤防治中心", "Sun Yat-sen University Cancer Center", "Guangdong", "Guangzhou"),
    ("SZET", "深圳市儿童医院", "Shenzhen Children's Hospital", "Guangdong", "Shenzhen"),
    ("ZJET", "浙江大学医学院附属儿童医院", "Children's Hospital, Zhejiang University School of Medicine", "Zhejiang", "Hangzhou"),
    ("NJET", "南京医科大学附属儿童医院", "Children's Hospital of Nanjing Medical University", "Jiangsu", "Nanjing"),
    ("SZDX", "苏州大学附属儿童医院", "Children's Hospital of Soochow University", "Jiangsu", "Suzhou"),
    ("HXEY", "四川大学华西第二医院", "West China Second University Hospital, Sichuan University", "Sichuan", "Chengdu"),
    ("HXYY", "四川大学华西医院", "West China Hospital, Sichuan University", "Sichuan", "Chengdu"),
    ("WHET", "武汉儿童医院", "Wuhan Children's Hospital", "Hubei", "Wuhan"),
    ("WHXH", "华中科技大学同济医学院附属协和医院", "Union Hospital, Tongji Medical College, HUST", "Hubei", "Wuhan"),
    ("HNET", "湖南省儿童医院", "Hunan Children's Hospital", "Hunan", "Changsha"),
    ("XYYY", "中南大学湘雅医院", "Xiangya Hospital, Central South University", "Hunan", "Changsha"),
    ("SDQL", "山东大学齐鲁医院", "Qilu Hospital of Shandong University", "Shandong", "Jinan"),
    ("QDFY", "青岛大学附属医院", "Affiliated Hospital of Qingdao University", "Shandong", "Qingdao"),
    ("HNZE", "河南省儿童医院", "Henan Children's Hospital", "Henan", "Zhengzhou"),
    ("CQET", "重庆医科大学附属儿童医院", "Children's Hospital of Chongqing Medical University", "Chongqing", "Chongqing"),
    ("XAJD", "西安交通大学第一附属医院", "First Affiliated Hospital of Xi'an Jiaotong University", "Shaanxi", "Xi'an"),
    ("FJXH", "福建医科大学附属协和医院", "Fujian Medical University Union Hospital", "Fujian", "Fuzhou"),
    ("TJZL", "天津医科大学肿瘤医院", "Tianjin Medical University Cancer Institute and Hospital", "Tianjin", "Tianjin"),
    ("SJYY", "中国医科大学附属盛京医院", "Shengjing Hospital of China Medical University", "Liaoning", "Shenyang"),
    ("DLET", "大连市儿童医院", "Dalian Children's Hospital", "Liaoning", "Dalian"),
]
