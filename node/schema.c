/*
 * The compiled-in schema.
 *
 * The schema is static const data: one array of fields per collection,
 * one array of collections.  Field sets and enumerations follow the
 * regulation (湘潭市平安建设条例, cited per collection) and the practice
 * described in DOMAIN.md §3; enumeration values are the Chinese terms used
 * on the forms, so an administrator reading a table with sqlite3 sees what
 * the grid worker typed.
 *
 * Privacy classes (DESIGN §2): `personal` for names, phones, ID numbers,
 * addresses and free text that may name people; `sensitive` for health,
 * criminal record, addiction and financial loss (PIPL Art. 28); the rest
 * `internal`, or `public` where the value is meant to be known (node
 * certificates).  Names of officials acting in their official capacity
 * (mediator, grid worker) are `internal`: they are how a partner or the
 * next tier reaches the case, not information about a private person.
 *
 * Merge kinds: `lww` by default.  `authority` (the higher tier wins, then
 * LWW) where the regulation gives the decision to the upper tier: the
 * assessment of a hazard (Art. 11), supervision levels and deadlines set by
 * the issuer (Art. 13, 48), node certificates (the issuer decides).
 * Lifecycle `status` fields stay `lww`: a community moving a case forward
 * after the county assessed it must not be shadowed forever by the
 * county's older write.  `counter` only for counter-typed fields
 * (volunteer points and hours, Art. 47).
 *
 * Versions.  Every collection and field carries `since`, the schema
 * version that added it.  Versions are additive: a new version may append
 * collections to `schema_collections` and append fields at the *end* of a
 * collection's array (so the fields of version v are always a prefix of
 * the array and `nfields` at v is the length of that prefix).  Nothing is
 * ever removed, renamed, retyped or reordered; changing a field's
 * privacy, merge, required flag, limit or enum values changes the hash and
 * needs a new version.  pg_schema_get(v) returns a view built once, at
 * first use, under pthread_once: per version a copy of every collection
 * with since <= v, with nfields cut to the fields of v, and its hash.
 *
 * The hash (BLAKE2b-256) is taken over this canonical serialisation of the
 * schema at version v; u32 is big-endian, str(x) is u32 byte length ‖
 * UTF-8 bytes:
 *
 *     schema     = str("pingan.schema.v1") ‖ u32 version
 *                  ‖ u32 ncollections ‖ collection …   (array order)
 *     collection = str(name) ‖ u32 cap (pg_tier) ‖ u32 system (0|1)
 *                  ‖ u32 partner_allowed (0|1) ‖ u32 nfields ‖ field …
 *     field      = str(name) ‖ u32 type (pg_type) ‖ u32 privacy
 *                  ‖ u32 merge ‖ u32 required (0|1)
 *                  ‖ u32 max_len (as declared, 0 = type default)
 *                  ‖ u32 nvalues ‖ str(value) …        (enum order)
 *
 * Titles and article references are for people and are not hashed: they
 * may be corrected without a new version.  The implicit `_deleted` field
 * is the same in every version and is not hashed either.
 */
#include "pingan/schema.h"
#include "pingan/crypto.h"

#include <assert.h>
#include <pthread.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A field of schema version 1. */
#define FIELD(n, t, ty, pr, mg, rq)                                            \
    {                                                                          \
        .name = (n), .title = (t), .type = PG_TYPE_##ty,                       \
        .privacy = PG_PRIVACY_##pr, .merge = PG_MERGE_##mg, .required = (rq),  \
        .values = NULL, .max_len = 0, .since = 1                               \
    }

/* A field of schema version 1 with an explicit byte limit. */
#define FIELD_LEN(n, t, ty, pr, mg, rq, len)                                   \
    {                                                                          \
        .name = (n), .title = (t), .type = PG_TYPE_##ty,                       \
        .privacy = PG_PRIVACY_##pr, .merge = PG_MERGE_##mg, .required = (rq),  \
        .values = NULL, .max_len = (len), .since = 1                           \
    }

/* An enum field of schema version 1. */
#define FIELD_ENUM(n, t, vals, pr, mg, rq)                                     \
    {                                                                          \
        .name = (n), .title = (t), .type = PG_TYPE_ENUM,                       \
        .privacy = PG_PRIVACY_##pr, .merge = PG_MERGE_##mg, .required = (rq),  \
        .values = (vals), .max_len = 0, .since = 1                             \
    }

/* fields[0] of every collection: where the record belongs. */
#define FIELD_DIVISION                                                         \
    FIELD("division", "所属区划", DIVISION, INTERNAL, LWW, true)

/* Fields added by a later schema version. */
#define FIELD_V(v, n, t, ty, pr, mg, rq, len)                                  \
    {                                                                          \
        .name = (n), .title = (t), .type = PG_TYPE_##ty,                       \
        .privacy = PG_PRIVACY_##pr, .merge = PG_MERGE_##mg, .required = (rq),  \
        .values = NULL, .max_len = (len), .since = (v)                         \
    }
#define FIELD_ENUM_V(v, n, t, vals, pr, mg, rq)                                \
    {                                                                          \
        .name = (n), .title = (t), .type = PG_TYPE_ENUM,                       \
        .privacy = PG_PRIVACY_##pr, .merge = PG_MERGE_##mg, .required = (rq),  \
        .values = (vals), .max_len = 0, .since = (v)                           \
    }

#define REQ true
#define OPT false

/* ---- shared enumerations ------------------------------------------- */

static const char *const supervise_level_values[] = {
    "无", "普通督办", "黄牌督办", "红牌督办", NULL,
};

/* ---- hazard 风险隐患 (Art. 9-14) ------------------------------------
 *
 * 排查 (Art. 9) → 研判/评估定级 (Art. 10, 11) → 预警 (Art. 12) → 整改/管控
 * → 挂牌督办 for serious ones (Art. 13) → 验收 → 销号.  The category is the
 * five-risk framing of 市域社会治理 (DOMAIN 3.1); the subcategory merges
 * the Art. 14 risk domains with the practice subtypes.  The assessment
 * (category, level, warning, listing, deadline) is the assessing tier's:
 * authority.  Cross-city only for border hazards (Art. 8 突出问题联治).
 */
static const char *const hazard_category_values[] = {
    "政治安全风险", "社会矛盾风险", "社会治安风险",
    "公共安全风险", "网络安全风险", NULL,
};

static const char *const hazard_subcategory_values[] = {
    /* 社会矛盾风险; Art. 14 domains */
    "征地拆迁",
    "工程建设",
    "物业管理",
    "婚恋家庭",
    "金融借贷",
    "劳动关系",
    "教育培训",
    "卫生健康",
    "社会保障",
    "养老和殡葬服务",
    "非法集资",
    "涉众型经济金融",
    "房地产交付",
    "信访积案",
    /* 社会治安风险 */
    "黄赌毒",
    "传销",
    "邪教活动",
    "涉枪涉爆",
    "个人极端",
    "重点人员失控",
    "校园周边",
    "寄递物流",
    /* 公共安全风险; Art. 14, 15, 20, 25 */
    "消防安全",
    "安全生产",
    "燃气安全",
    "道路交通",
    "自建房危房",
    "地质灾害",
    "防汛防溺水",
    "食品药品",
    "特种设备",
    "危化品",
    "环境保护",
    "人员密集场所",
    /* 网络安全风险; Art. 14, 22, 26 */
    "网络谣言舆情",
    "信息安全",
    "网络购物",
    "电诈窝点线索",
    "新业态风险",
    "其他",
    NULL,
};

static const char *const hazard_level_values[] = {
    "重大", "较大", "一般", "低", NULL,
};

static const char *const hazard_status_values[] = {
    "发现登记", "核实",   "评估定级", "整改中", "管控中",     "验收",
    "销号",     "不属实", "退回补充", "转办",   "回头看复查", NULL,
};

/* Early warning levels of 突发事件应对法 (Art. 12 预警). */
static const char *const hazard_warning_values[] = {
    "一级（红色）", "二级（橙色）", "三级（黄色）", "四级（蓝色）", NULL,
};

static const char *const hazard_discovered_by_values[] = {
    "网格员",   "部门排查",  "企事业单位自查", "群众举报",
    "视频监控", "12345热线", "上级交办",       NULL,
};

/* 挂牌督办 (Art. 13). */
static const char *const hazard_listing_values[] = {
    "无",
    "县级挂牌",
    "市级挂牌",
    NULL,
};

static const pg_field hazard_fields[] = {
    FIELD_DIVISION,
    FIELD_ENUM("category", "风险类别", hazard_category_values, INTERNAL,
               AUTHORITY, REQ),
    FIELD_ENUM("subcategory", "风险子类", hazard_subcategory_values, INTERNAL,
               AUTHORITY, OPT),
    FIELD_ENUM("level", "风险等级", hazard_level_values, INTERNAL, AUTHORITY,
               OPT),
    FIELD_ENUM("status", "办理状态", hazard_status_values, INTERNAL, LWW, OPT),
    FIELD_ENUM("warning_level", "预警等级", hazard_warning_values, INTERNAL,
               AUTHORITY, OPT),
    FIELD_ENUM("discovered_by", "发现途径", hazard_discovered_by_values,
               INTERNAL, LWW, OPT),
    FIELD("discovered_at", "发现时间", TIME, INTERNAL, LWW, OPT),
    FIELD("address", "隐患地址", ADDRESS, PERSONAL, LWW, OPT),
    FIELD("lon", "经度", REAL, INTERNAL, LWW, OPT),
    FIELD("lat", "纬度", REAL, INTERNAL, LWW, OPT),
    FIELD("description", "隐患描述", TEXT, PERSONAL, LWW, REQ),
    FIELD("affected_count", "涉及户数/人数", INT, INTERNAL, LWW, OPT),
    FIELD("responsible_unit", "责任单位", TEXT, INTERNAL, AUTHORITY, OPT),
    FIELD("measures", "整改措施", TEXT, INTERNAL, LWW, OPT),
    FIELD("rectify_deadline", "整改期限", TIME, INTERNAL, AUTHORITY, OPT),
    FIELD_ENUM("listing_level", "挂牌督办", hazard_listing_values, INTERNAL,
               AUTHORITY, OPT),
    FIELD("listed_at", "挂牌时间", TIME, INTERNAL, AUTHORITY, OPT),
    FIELD("contact_name", "联系人", NAME, PERSONAL, LWW, OPT),
    FIELD("contact_phone", "联系电话", PHONE, PERSONAL, LWW, OPT),
    FIELD("cross_region", "跨市联治", BOOL, INTERNAL, LWW, OPT),
    FIELD("partner_city", "协作城市", DIVISION, INTERNAL, LWW, OPT),
    FIELD("closed_at", "销号时间", TIME, INTERNAL, LWW, OPT),
};

/* ---- dispute 矛盾纠纷 (Art. 27-35) -----------------------------------
 *
 * 多元化解: 人民调解, 行政调解, 司法调解 (Art. 27-30) and the Art. 32
 * professional fields.  The type list is the 矛盾劝解 taxonomy of a
 * deployed 综治 platform (DOMAIN 3.2) with the Art. 32 fields it lacks
 * (消费, 金融借贷, 知识产权, 房屋销售, 土地承包经营, 治安).  Cross-city
 * 联调 (Art. 8, 27) is marked by cross_region and partner_city.
 */
static const char *const dispute_type_values[] = {
    "婚姻家庭",
    "邻里纠纷",
    "房屋宅基地",
    "山林土地",
    "土地承包经营",
    "劳资纠纷",
    "合同履行",
    "经济活动",
    "金融借贷",
    "消费纠纷",
    "物业管理",
    "建筑工程",
    "征地拆迁",
    "交通及生产安全",
    "医患纠纷",
    "环境生态",
    "知识产权",
    "房屋销售",
    "治安纠纷",
    "企业改制",
    "军人安置",
    "农村三资",
    "农民负担",
    "院校问题",
    "民族宗教",
    "村（社区）务管理",
    "行政执法活动",
    "司法活动",
    "干部作风",
    "海事渔事",
    "计划生育",
    "信访问题处理",
    "不稳定因素报告",
    "其他",
    NULL,
};

static const char *const dispute_source_values[] = {
    "网格排查", "当事人申请", "110分流",  "12345热线", "法院委派",
    "信访转办", "部门移交",   "上级交办", NULL,
};

static const char *const dispute_channel_values[] = {
    "人民调解", "行政调解", "司法调解", "联合调解", NULL,
};

static const char *const risk3_values[] = {
    "低",
    "中",
    "高",
    NULL,
};

static const char *const dispute_status_values[] = {
    "登记受理", "分流指派", "调解中", "中止", "达成协议",
    "履行中",   "调解不成", "结案",   "终结", NULL,
};

static const char *const dispute_outcome_values[] = {
    "调解成功（口头协议）",
    "调解成功（书面协议）",
    "调解成功并司法确认",
    "部分成功",
    "调解不成—引导诉讼",
    "调解不成—引导仲裁",
    "调解不成—转行政处理",
    "当事人撤回",
    "不予受理",
    "转办",
    NULL,
};

static const pg_field dispute_fields[] = {
    FIELD_DIVISION,
    FIELD_ENUM("dispute_type", "纠纷类型", dispute_type_values, INTERNAL, LWW,
               REQ),
    FIELD_ENUM("source", "来源", dispute_source_values, INTERNAL, LWW, OPT),
    FIELD("applicant_name", "申请人", NAME, PERSONAL, LWW, OPT),
    FIELD("applicant_phone", "申请人电话", PHONE, PERSONAL, LWW, OPT),
    FIELD("applicant_id_number", "申请人身份证号", ID_NUMBER, PERSONAL, LWW,
          OPT),
    FIELD("respondent_name", "被申请人", NAME, PERSONAL, LWW, OPT),
    FIELD("respondent_phone", "被申请人电话", PHONE, PERSONAL, LWW, OPT),
    FIELD("party_count", "当事人数", INT, INTERNAL, LWW, OPT),
    FIELD("amount_involved", "涉及金额（元）", REAL, INTERNAL, LWW, OPT),
    FIELD("summary", "纠纷简要情况", TEXT, PERSONAL, LWW, REQ),
    FIELD("mediation_org", "调解组织", TEXT, INTERNAL, LWW, OPT),
    FIELD("mediator", "调解员", NAME, INTERNAL, LWW, OPT),
    FIELD_ENUM("channel", "调解方式", dispute_channel_values, INTERNAL, LWW,
               OPT),
    FIELD_ENUM("escalation_risk", "激化风险", risk3_values, INTERNAL, LWW, OPT),
    FIELD("accepted_at", "受理时间", TIME, INTERNAL, LWW, OPT),
    FIELD("deadline", "调解期限", TIME, INTERNAL, LWW, OPT),
    FIELD_ENUM("status", "办理状态", dispute_status_values, INTERNAL, LWW, OPT),
    FIELD_ENUM("outcome", "调解结果", dispute_outcome_values, INTERNAL, LWW,
               OPT),
    FIELD("cross_region", "跨市联调", BOOL, INTERNAL, LWW, OPT),
    FIELD("partner_city", "协作城市", DIVISION, INTERNAL, LWW, OPT),
    FIELD_LEN("partner_case_id", "对方案件编号", TEXT, INTERNAL, LWW, OPT, 64),
    FIELD("closed_at", "结案时间", TIME, INTERNAL, LWW, OPT),
};

/* ---- grid_event 网格事项 (Art. 40) -----------------------------------
 *
 * 网格事项在线流转处置: 上报 → 受理 → 派遣 → 处置 → 反馈 → 核查 → 结案
 * (DOMAIN 3.3).  Supervision flags 普通/黄牌/红牌督办 are set from above:
 * authority, so a higher tier's flag is not undone by the grid.
 */
static const char *const grid_category_values[] = {
    "民生服务", "城市管理",     "矛盾劝解", "治安防控", "特殊人群服务管理",
    "社情民意", "政策法规宣传", "突发事件", "其他",     NULL,
};

static const char *const grid_source_values[] = {
    "网格员巡查", "群众自报", "12345热线", "110分流", "数字城管",
    "视频发现",   "部门移交", "上级交办",  "信访",    NULL,
};

static const char *const grid_urgency_values[] = {
    "紧急",
    "一般",
    "复杂",
    NULL,
};

static const char *const grid_status_values[] = {
    "上报",     "受理", "不予受理", "自办", "派遣", "处置中",
    "处置反馈", "核查", "上报上级", "回退", "结案", NULL,
};

static const char *const satisfaction_values[] = {
    "满意",
    "基本满意",
    "不满意",
    NULL,
};

static const pg_field grid_event_fields[] = {
    FIELD_DIVISION,
    FIELD_LEN("grid_code", "网格编码", TEXT, INTERNAL, LWW, OPT, 32),
    FIELD_ENUM("category", "事项类别", grid_category_values, INTERNAL, LWW,
               REQ),
    FIELD_LEN("subject", "主题", TEXT, INTERNAL, LWW, REQ, 256),
    FIELD("description", "事项描述", TEXT, PERSONAL, LWW, OPT),
    FIELD_ENUM("source", "来源方式", grid_source_values, INTERNAL, LWW, OPT),
    FIELD("reporter_name", "反映人", NAME, PERSONAL, LWW, OPT),
    FIELD("reporter_phone", "反映人电话", PHONE, PERSONAL, LWW, OPT),
    FIELD("grid_worker", "网格员", NAME, INTERNAL, LWW, OPT),
    FIELD("occurred_at", "发生时间", TIME, INTERNAL, LWW, OPT),
    FIELD("address", "发生地点", ADDRESS, PERSONAL, LWW, OPT),
    FIELD("lon", "经度", REAL, INTERNAL, LWW, OPT),
    FIELD("lat", "纬度", REAL, INTERNAL, LWW, OPT),
    FIELD("involved_count", "涉及人数", INT, INTERNAL, LWW, OPT),
    FIELD_ENUM("urgency", "紧急程度", grid_urgency_values, INTERNAL, LWW, OPT),
    FIELD_ENUM("status", "办理状态", grid_status_values, INTERNAL, LWW, OPT),
    FIELD("handling_unit", "当前处理部门", TEXT, INTERNAL, LWW, OPT),
    FIELD_ENUM("supervise_level", "督办等级", supervise_level_values, INTERNAL,
               AUTHORITY, OPT),
    FIELD("deadline", "办理期限", TIME, INTERNAL, LWW, OPT),
    FIELD("feedback", "处置反馈", TEXT, PERSONAL, LWW, OPT),
    FIELD_ENUM("satisfaction", "满意度", satisfaction_values, INTERNAL, LWW,
               OPT),
    FIELD("cross_region", "跨市事项", BOOL, INTERNAL, LWW, OPT),
    FIELD("partner_city", "协作城市", DIVISION, INTERNAL, LWW, OPT),
    FIELD("closed_at", "结案时间", TIME, INTERNAL, LWW, OPT),
};

/* ---- key_person 重点人群 (Art. 16) -----------------------------------
 *
 * 刑满释放人员, 社区矫正对象, 吸毒人员, 严重精神障碍患者, 不良行为青少年
 * (Art. 16) and the further 综治 categories of DOMAIN 3.4.  Membership is
 * itself sensitive (特定身份, 医疗健康: PIPL Art. 28), so the category and
 * every category-specific detail are `sensitive`.  Capped at the county
 * and never shared with a partner city (DOMAIN 4.6).
 */
static const char *const key_person_category_values[] = {
    "刑满释放人员",     "社区矫正对象",   "吸毒人员",
    "严重精神障碍患者", "重点青少年",     "信访重点人员",
    "涉稳人员",         "艾滋病危险人员", NULL,
};

static const char *const youth_type_values[] = {
    "闲散青少年",       "有不良行为青少年",
    "流浪乞讨未成年人", "服刑在教人员未成年子女",
    "农村留守儿童",     NULL,
};

/* National risk assessment scale for severe mental disorders, 0-5. */
static const char *const danger_level_values[] = {
    "0级", "1级", "2级", "3级", "4级", "5级", NULL,
};

static const char *const treatment_status_values[] = {
    "治疗中",
    "已康复",
    "未接受治疗",
    NULL,
};

/* 社区矫正法 Art. 2. */
static const char *const correction_type_values[] = {
    "管制", "缓刑", "假释", "暂予监外执行", NULL,
};

static const char *const drug_status_values[] = {
    "现吸", "社区戒毒", "社区康复", "强制隔离戒毒", "戒断三年未复吸", NULL,
};

static const char *const control_level_values[] = {
    "红", "橙", "黄", "绿", NULL,
};

static const char *const whereabouts_values[] = {
    "正常在管", "外出", "失联", "异常", NULL,
};

static const char *const visit_method_values[] = {
    "面访",
    "电话",
    "视频",
    NULL,
};

static const char *const removal_reason_values[] = {
    "期满解除", "康复", "死亡", "迁出", "其他", NULL,
};

static const pg_field key_person_fields[] = {
    FIELD_DIVISION,
    FIELD_ENUM("category", "人员类别", key_person_category_values, SENSITIVE,
               LWW, REQ),
    FIELD("name", "姓名", NAME, PERSONAL, LWW, REQ),
    FIELD("id_number", "身份证号", ID_NUMBER, PERSONAL, LWW, REQ),
    FIELD("phone", "联系电话", PHONE, PERSONAL, LWW, OPT),
    FIELD("address", "现住址", ADDRESS, PERSONAL, LWW, OPT),
    FIELD_ENUM("youth_type", "青少年类型", youth_type_values, SENSITIVE, LWW,
               OPT),
    FIELD_ENUM("danger_level", "危险性等级", danger_level_values, SENSITIVE,
               LWW, OPT),
    FIELD("diagnosis", "诊断", TEXT, SENSITIVE, LWW, OPT),
    FIELD_ENUM("treatment_status", "治疗状态", treatment_status_values,
               SENSITIVE, LWW, OPT),
    FIELD_ENUM("correction_type", "矫正类别", correction_type_values, SENSITIVE,
               LWW, OPT),
    FIELD("correction_until", "矫正期满日期", TIME, SENSITIVE, LWW, OPT),
    FIELD("original_charge", "原罪名", TEXT, SENSITIVE, LWW, OPT),
    FIELD("release_date", "释放日期", TIME, SENSITIVE, LWW, OPT),
    FIELD_ENUM("drug_status", "吸毒状态", drug_status_values, SENSITIVE, LWW,
               OPT),
    FIELD_ENUM("control_level", "管控等级", control_level_values, SENSITIVE,
               AUTHORITY, OPT),
    FIELD_ENUM("whereabouts", "动态状况", whereabouts_values, SENSITIVE, LWW,
               OPT),
    FIELD("guardian_name", "监护人", NAME, PERSONAL, LWW, OPT),
    FIELD("guardian_phone", "监护人电话", PHONE, PERSONAL, LWW, OPT),
    FIELD("responsible_grid_worker", "责任网格员", NAME, INTERNAL, LWW, OPT),
    FIELD("last_visit_at", "最近走访时间", TIME, INTERNAL, LWW, OPT),
    FIELD_ENUM("visit_method", "走访方式", visit_method_values, INTERNAL, LWW,
               OPT),
    FIELD("visit_notes", "走访情况", TEXT, SENSITIVE, LWW, OPT),
    FIELD("enrolled_at", "列管时间", TIME, INTERNAL, LWW, OPT),
    FIELD("removed_at", "解除列管时间", TIME, INTERNAL, LWW, OPT),
    FIELD_ENUM("removal_reason", "解除原因", removal_reason_values, INTERNAL,
               LWW, OPT),
};

/* ---- supervision 督办/督导 (Art. 13, 48) -----------------------------
 *
 * 通报, 约谈, 督办 (Art. 48) and 挂牌督办 of serious hazards (Art. 13).
 * `division` is the addressee: the order travels down to it and its
 * response travels back up.  What the issuer decides (kind, level,
 * reason, requirements, deadline, result) is `authority`; the
 * addressee's response and the status it moves are `lww`.
 *
 * status, in the order of the lifecycle:
 *     已下达  issued        (by the issuer)
 *     已签收  acknowledged  (by the addressee)
 *     整改中  rectifying
 *     已整改  rectified     (the addressee reports back)
 *     已核验  verified      (the issuer checks the rectification)
 *     已撤销  withdrawn     (取消督办)
 * Never shared with a partner city: jurisdiction-bound (DOMAIN 3.5).
 */
static const char *const supervision_kind_values[] = {
    "通报", "约谈", "督办", "挂牌督办", NULL,
};

static const char *const supervision_level_values[] = {
    "普通督办",
    "黄牌督办",
    "红牌督办",
    NULL,
};

static const char *const supervision_subject_type_values[] = {
    "风险隐患",     "矛盾纠纷", "网格事项", "电诈预警",
    "平安建设考核", "案事件",   "其他",     NULL,
};

/* DOMAIN 3.5 reasons and the six situations of Art. 48. */
static const char *const supervision_reason_values[] = {
    "超期未办结",
    "重复上报",
    "群众不满意",
    "重大隐患",
    "工作措施落实不力",
    "连续发生重大案事件",
    "发生特别重大案事件",
    "考核评价不合格",
    "突出问题整治不力",
    "其他",
    NULL,
};

static const char *const supervision_status_values[] = {
    "已下达", "已签收", "整改中", "已整改", "已核验", "已撤销", NULL,
};

static const char *const supervision_result_values[] = {
    "按期完成",
    "逾期",
    "升级督办",
    NULL,
};

static const pg_field supervision_fields[] = {
    FIELD_DIVISION,
    FIELD_ENUM("kind", "督导形式", supervision_kind_values, INTERNAL, AUTHORITY,
               REQ),
    FIELD_ENUM("level", "督办等级", supervision_level_values, INTERNAL,
               AUTHORITY, OPT),
    FIELD("issuing_node", "下达单位区划", DIVISION, INTERNAL, AUTHORITY, REQ),
    FIELD("issuing_unit", "下达单位", TEXT, INTERNAL, AUTHORITY, OPT),
    FIELD("target_unit", "被督导单位", TEXT, INTERNAL, AUTHORITY, REQ),
    FIELD_ENUM("subject_type", "督办事项类型", supervision_subject_type_values,
               INTERNAL, AUTHORITY, OPT),
    FIELD_LEN("subject_ref", "督办事项编号", TEXT, INTERNAL, AUTHORITY, OPT,
              128),
    FIELD_ENUM("reason", "督导事由", supervision_reason_values, INTERNAL,
               AUTHORITY, OPT),
    FIELD("requirements", "整改要求", TEXT, INTERNAL, AUTHORITY, OPT),
    FIELD("attendees", "约谈对象", TEXT, INTERNAL, AUTHORITY, OPT),
    FIELD_LEN("document_no", "文号", TEXT, INTERNAL, AUTHORITY, OPT, 64),
    FIELD("issued_at", "下达时间", TIME, INTERNAL, AUTHORITY, OPT),
    FIELD("deadline", "整改期限", TIME, INTERNAL, AUTHORITY, OPT),
    FIELD_ENUM("status", "办理状态", supervision_status_values, INTERNAL, LWW,
               OPT),
    FIELD("response", "整改情况报告", TEXT, INTERNAL, LWW, OPT),
    FIELD("responded_at", "报送时间", TIME, INTERNAL, LWW, OPT),
    FIELD_ENUM("result", "督办结果", supervision_result_values, INTERNAL,
               AUTHORITY, OPT),
    FIELD("closed_at", "办结时间", TIME, INTERNAL, AUTHORITY, OPT),
};

/* ---- volunteer 平安积分 (Art. 39, 47) ---------------------------------
 *
 * 平安志愿服务 (Art. 39) and the 平安建设积分 of Art. 47: points and hours
 * are counters, each origin's increments summed exactly once.  Points are
 * personal but not sensitive; partners get aggregates only, not records.
 */
static const char *const volunteer_team_values[] = {
    "综治巡逻队", "红袖套公益志愿者", "门卫保安",
    "楼栋长",     "调解志愿者",       "反诈宣传队",
    "禁毒志愿者", "应急救援队",       "养老助残",
    "助教",       "扶贫济困",         "文体",
    NULL,
};

static const char *const volunteer_status_values[] = {
    "待审核", "正常", "暂停", "已注销", NULL,
};

/* Art. 39 activities and the practice list of DOMAIN 3.6. */
static const char *const volunteer_activity_values[] = {
    "治安巡逻",     "矛盾调解协助", "隐患/线索上报", "反诈宣传",
    "防溺水劝导",   "禁毒宣传",     "应急演练参与",  "应急处置支援",
    "社情民意调查", "文明劝导",     "平安法治宣传",  NULL,
};

static const pg_field volunteer_fields[] = {
    FIELD_DIVISION,
    FIELD("name", "姓名", NAME, PERSONAL, LWW, REQ),
    FIELD("phone", "联系电话", PHONE, PERSONAL, LWW, OPT),
    FIELD("id_number", "身份证号", ID_NUMBER, PERSONAL, LWW, OPT),
    FIELD_ENUM("team", "所属队伍", volunteer_team_values, INTERNAL, LWW, OPT),
    FIELD_ENUM("status", "状态", volunteer_status_values, INTERNAL, LWW, OPT),
    FIELD("points", "平安积分", COUNTER, PERSONAL, COUNTER, OPT),
    FIELD("hours", "服务时长（小时）", COUNTER, PERSONAL, COUNTER, OPT),
    FIELD_ENUM("last_activity", "最近活动", volunteer_activity_values, INTERNAL,
               LWW, OPT),
    FIELD("last_activity_at", "最近活动时间", TIME, INTERNAL, LWW, OPT),
    FIELD("registered_at", "注册时间", TIME, INTERNAL, LWW, OPT),
};

/* ---- fraud_alert 电信网络诈骗预警 (Art. 23) ---------------------------
 *
 * 预警劝阻: an alert from the anti-fraud centres, 96110, a bank or an
 * operator (Art. 23) dispatched to a police station or grid worker with a
 * deadline of minutes to hours.  Suspect identifiers are still personal
 * information (of the suspect).  The loss is financial, and so is the
 * narrative that repeats it with the victim's accounts: sensitive.
 * Partner-shareable: fraud crosses city lines (Art. 8, 反电信网络诈骗法
 * Art. 7).
 */
static const char *const fraud_source_values[] = {
    "国家反诈中心", "省反诈中心", "市反诈中心", "96110", "银行",
    "支付机构",     "电信运营商", "互联网企业", NULL,
};

static const char *const fraud_type_values[] = {
    "刷单返利",     "虚假网络投资理财", "虚假网络贷款", "冒充电商物流客服",
    "冒充公检法",   "虚假征信",         "虚假购物服务", "网络游戏虚假交易",
    "网络婚恋交友", "冒充领导熟人",     "其他",         NULL,
};

static const char *const fraud_channel_values[] = {
    "电话", "短信", "微信", "QQ", "APP", "网站", NULL,
};

static const char *const fraud_dispatch_values[] = {
    "派出所", "网格员", "村（社区）", "乡镇（街道）", NULL,
};

static const char *const fraud_outcome_values[] = {
    "劝阻成功", "已受骗", "无法联系", "误报", NULL,
};

static const char *const fraud_status_values[] = {
    "已下发", "已签收", "处置中", "已反馈", "已办结", NULL,
};

static const pg_field fraud_alert_fields[] = {
    FIELD_DIVISION,
    FIELD_ENUM("alert_source", "预警来源", fraud_source_values, INTERNAL, LWW,
               REQ),
    FIELD_ENUM("fraud_type", "诈骗类型", fraud_type_values, INTERNAL, LWW, OPT),
    FIELD_ENUM("channel", "接触渠道", fraud_channel_values, INTERNAL, LWW, OPT),
    FIELD("target_name", "预警对象", NAME, PERSONAL, LWW, OPT),
    FIELD("target_phone", "预警对象电话", PHONE, PERSONAL, LWW, OPT),
    FIELD_LEN("suspect_phone", "涉诈号码", TEXT, PERSONAL, LWW, OPT, 64),
    FIELD_LEN("suspect_account", "涉诈账户", TEXT, PERSONAL, LWW, OPT, 128),
    FIELD_LEN("suspect_url", "涉诈网址/APP", TEXT, INTERNAL, LWW, OPT, 512),
    FIELD("loss_amount", "损失金额（元）", REAL, SENSITIVE, LWW, OPT),
    FIELD("description", "预警情况", TEXT, SENSITIVE, LWW, OPT),
    FIELD_ENUM("dispatched_to", "下发对象", fraud_dispatch_values, INTERNAL,
               LWW, OPT),
    FIELD("issued_at", "预警时间", TIME, INTERNAL, LWW, REQ),
    FIELD("deadline", "处置时限", TIME, INTERNAL, LWW, OPT),
    FIELD("handled_at", "处置时间", TIME, INTERNAL, LWW, OPT),
    FIELD_ENUM("outcome", "处置结果", fraud_outcome_values, INTERNAL, LWW, OPT),
    FIELD_ENUM("status", "办理状态", fraud_status_values, INTERNAL, LWW, OPT),
    FIELD("cross_region", "跨市协查", BOOL, INTERNAL, LWW, OPT),
    FIELD("partner_city", "协作城市", DIVISION, INTERNAL, LWW, OPT),
};

/* ---- drill 应急演练 (Art. 15, 43) -------------------------------------
 *
 * 定期组织应急演练 (Art. 15, by the operators of schools, hospitals,
 * stations ...) and 定期开展应急处置演练 (Art. 43, by governments).  Joint
 * drills with a partner city (基层平安联创, Art. 8) carry cross_region.
 */
static const char *const drill_type_values[] = {
    "桌面推演", "实战演练", "综合演练", "单项演练", NULL,
};

static const char *const drill_scenario_values[] = {
    "消防疏散",   "防汛抗洪",   "地质灾害避险", "燃气泄漏",
    "危化品泄漏", "反恐防暴",   "校园安全",     "人员密集场所踩踏",
    "地震",       "防溺水救援", "电梯困人",     "其他",
    NULL,
};

static const char *const drill_status_values[] = {
    "计划", "审批", "实施", "总结评估", "整改", "归档", NULL,
};

static const pg_field drill_fields[] = {
    FIELD_DIVISION,
    FIELD_LEN("drill_no", "演练编号", TEXT, INTERNAL, LWW, OPT, 64),
    FIELD_LEN("drill_name", "演练名称", TEXT, INTERNAL, LWW, OPT, 256),
    FIELD_ENUM("drill_type", "演练类型", drill_type_values, INTERNAL, LWW, REQ),
    FIELD_ENUM("scenario", "演练科目", drill_scenario_values, INTERNAL, LWW,
               REQ),
    FIELD("organiser", "组织单位", TEXT, INTERNAL, LWW, OPT),
    FIELD("plan_ref", "应急预案", TEXT, INTERNAL, LWW, OPT),
    FIELD("planned_at", "计划时间", TIME, INTERNAL, LWW, OPT),
    FIELD("executed_at", "实施时间", TIME, INTERNAL, LWW, OPT),
    FIELD_LEN("location", "演练地点", TEXT, INTERNAL, LWW, OPT, 256),
    FIELD("participants", "参演人数", INT, INTERNAL, LWW, OPT),
    FIELD("departments", "参演单位", TEXT, INTERNAL, LWW, OPT),
    FIELD("evaluation_score", "评估得分", INT, INTERNAL, LWW, OPT),
    FIELD("problems", "发现问题", TEXT, INTERNAL, LWW, OPT),
    FIELD("improvements", "改进措施", TEXT, INTERNAL, LWW, OPT),
    FIELD_ENUM("status", "状态", drill_status_values, INTERNAL, LWW, OPT),
    FIELD("cross_region", "跨市联合演练", BOOL, INTERNAL, LWW, OPT),
    FIELD("partner_city", "协作城市", DIVISION, INTERNAL, LWW, OPT),
};

/* ---- node 节点证书 (system; DESIGN §7; Art. 40 four-tier system) ------
 *
 * A parent certifies each child: the certificate is a record written by
 * pingan itself, signed by the issuer.  Every field is `authority`: the
 * issuer (a higher tier than the certified node) decides, and an ancestor
 * revoking a key wins over the node's own tier.  Public keys and
 * signatures are lower-case hex; tier uses pg_tier_name().
 */
static const char *const node_tier_values[] = {
    "province", "city", "county", "township", "community", NULL,
};

static const pg_field node_fields[] = {
    FIELD_DIVISION,
    FIELD("code", "节点区划代码", DIVISION, PUBLIC, AUTHORITY, REQ),
    FIELD_LEN("name", "节点名称", TEXT, PUBLIC, AUTHORITY, REQ, 256),
    FIELD_ENUM("tier", "层级", node_tier_values, PUBLIC, AUTHORITY, REQ),
    FIELD_LEN("sign_pk", "签名公钥", TEXT, PUBLIC, AUTHORITY, REQ,
              2 * PG_SIGN_PK_LEN),
    FIELD_LEN("box_pk", "加密公钥", TEXT, PUBLIC, AUTHORITY, REQ,
              2 * PG_BOX_PK_LEN),
    FIELD_LEN("key_id", "密钥标识", TEXT, PUBLIC, AUTHORITY, REQ,
              PG_KEY_ID_LEN),
    FIELD("suite", "密码套件", INT, PUBLIC, AUTHORITY, REQ),
    FIELD("issuer", "签发节点", DIVISION, PUBLIC, AUTHORITY, REQ),
    FIELD_LEN("issuer_key_id", "签发密钥标识", TEXT, PUBLIC, AUTHORITY, REQ,
              PG_KEY_ID_LEN),
    FIELD("valid_from", "生效时间", TIME, PUBLIC, AUTHORITY, REQ),
    FIELD("valid_until", "失效时间", TIME, PUBLIC, AUTHORITY, OPT),
    FIELD("revoked", "已吊销", BOOL, PUBLIC, AUTHORITY, OPT),
    FIELD("revoked_after_seq", "吊销后不再接受的序号", INT, PUBLIC, AUTHORITY,
          OPT),
    FIELD_LEN("certificate_sig", "证书签名", TEXT, PUBLIC, AUTHORITY, REQ,
              2 * PG_SIG_LEN),
};

/* ---- dispute_party 纠纷当事人 (Art. 27-35; schema v2) -----------------
 *
 * A dispute often has more than the two parties v1 stores inline
 * (applicant, respondent): several applicants, a third party (第三人).
 * One record per party, linked to its dispute by the dispute's record id
 * and filed under the dispute's division, so it travels the same path.
 * Names, phones and ID numbers are personal, as on the dispute itself.
 */
static const char *const party_role_values[] = {
    "申请人",
    "被申请人",
    "第三人",
    NULL,
};

static const pg_field dispute_party_fields[] = {
    FIELD_V(2, "division", "所属区划", DIVISION, INTERNAL, LWW, REQ, 0),
    FIELD_V(2, "dispute_id", "纠纷记录编号", TEXT, INTERNAL, LWW, REQ, 128),
    FIELD_ENUM_V(2, "party_role", "当事人角色", party_role_values, INTERNAL,
                 LWW, REQ),
    FIELD_V(2, "name", "姓名", NAME, PERSONAL, LWW, REQ, 0),
    FIELD_V(2, "phone", "联系电话", PHONE, PERSONAL, LWW, OPT, 0),
    FIELD_V(2, "id_number", "身份证号", ID_NUMBER, PERSONAL, LWW, OPT, 0),
    FIELD_V(2, "organisation", "所在单位/组织", TEXT, INTERNAL, LWW, OPT, 256),
    /* As on the dispute: a party of a 联调 case goes with it. */
    FIELD_V(2, "cross_region", "跨市联调", BOOL, INTERNAL, LWW, OPT, 0),
    FIELD_V(2, "partner_city", "协作城市", DIVISION, INTERNAL, LWW, OPT, 0),
};

/* ---- daily_stats 统计日报 (Art. 8, 41; schema v2) ----------------------
 *
 * Aggregates written by `pingan report --publish`: per day, per counted
 * division, collection, category and status, a count (and where they
 * apply an amount and the overdue count).  No person can be read from
 * them, so they are public and uncapped: they rise above a collection's
 * cap (a city counts key-person services without holding one record) and
 * go to a partner when an agreement names daily_stats (whole: they carry
 * no cross_region mark, and the built-in agreement does not name them).
 * One record per publisher and key; publishing again updates it.
 * `division` is
 * the publishing node; `subject_division` the division counted.
 */
static const pg_field daily_stats_fields[] = {
    FIELD_V(2, "division", "发布单位区划", DIVISION, INTERNAL, LWW, REQ, 0),
    /* 00:00 China Standard Time of the day counted */
    FIELD_V(2, "stat_date", "统计日期", TIME, PUBLIC, LWW, REQ, 0),
    FIELD_V(2, "collection", "统计对象", TEXT, PUBLIC, LWW, REQ, 64),
    FIELD_V(2, "subject_division", "统计区划", DIVISION, PUBLIC, LWW, REQ, 0),
    FIELD_V(2, "category", "类别", TEXT, PUBLIC, LWW, OPT, 128),
    FIELD_V(2, "status", "状态", TEXT, PUBLIC, LWW, OPT, 64),
    FIELD_V(2, "record_count", "记录数", INT, PUBLIC, LWW, REQ, 0),
    FIELD_V(2, "overdue_count", "逾期数", INT, PUBLIC, LWW, OPT, 0),
    FIELD_V(2, "amount", "涉及金额合计（元）", REAL, PUBLIC, LWW, OPT, 0),
};

/* ---- division_remap 区划调整 (system; schema v2) ------------------------
 *
 * Division codes change every year (merged villages, townships turned
 * into subdistricts: DOMAIN 2.1).  A remap names a retired code and the
 * code that replaces it; it is written by pingan itself (`pingan division
 * remap`) at the node whose jurisdiction holds both codes, and filed under
 * that node's code, so it travels like a certificate: up the path and
 * down the whole subtree.  The issuer decides: authority.
 */
static const char *const remap_reason_values[] = {
    "撤并", "更名", "撤乡设镇", "撤镇设街道", "代码调整", "其他", NULL,
};

static const pg_field division_remap_fields[] = {
    FIELD_V(2, "division", "调整单位区划", DIVISION, INTERNAL, LWW, REQ, 0),
    FIELD_V(2, "old_code", "原区划代码", DIVISION, PUBLIC, AUTHORITY, REQ, 0),
    FIELD_V(2, "new_code", "新区划代码", DIVISION, PUBLIC, AUTHORITY, REQ, 0),
    FIELD_V(2, "new_name", "新区划名称", TEXT, PUBLIC, AUTHORITY, OPT, 256),
    FIELD_ENUM_V(2, "reason", "调整原因", remap_reason_values, PUBLIC,
                 AUTHORITY, OPT),
    FIELD_V(2, "effective_at", "生效时间", TIME, PUBLIC, AUTHORITY, OPT, 0),
    FIELD_V(2, "document_no", "批准文号", TEXT, PUBLIC, AUTHORITY, OPT, 64),
};

/* ---- purge 个人信息删除 (system; Art. 41, PIPL Art. 47; schema v2) ----
 *
 * `pingan purge` erases the personal and sensitive values of a record
 * that are no longer needed: each stored value, in the record table and
 * in every logged txn, is replaced by its commitment, so every origin
 * signature still verifies.  The purge itself is a record of this system
 * collection, filed under the purged record's division, so it travels the
 * record's path and every copy is purged.  It names the record by id
 * only: not its collection, not a value.
 */
static const pg_field purge_fields[] = {
    FIELD_V(2, "division", "所属区划", DIVISION, INTERNAL, LWW, REQ, 0),
    FIELD_V(2, "record_id", "被清除记录编号", TEXT, PUBLIC, AUTHORITY, REQ,
            128),
    FIELD_V(2, "purged_at", "清除时间", TIME, PUBLIC, AUTHORITY, REQ, 0),
    FIELD_V(2, "basis", "清除依据", TEXT, PUBLIC, AUTHORITY, OPT, 256),
};

/* ---- collections ---------------------------------------------------- */

#define COLLECTION(n, t, arts, cp, sys, partner, flds)                         \
    {                                                                          \
        .name = (n), .title = (t), .articles = (arts), .cap = (cp),            \
        .system = (sys), .partner_allowed = (partner), .fields = (flds),       \
        .nfields = ARRAY_LEN(flds), .since = 1                                 \
    }

static const pg_collection coll_hazard = COLLECTION(
    "hazard", "风险隐患", "9-14", PG_TIER_NONE, false, true, hazard_fields);
static const pg_collection coll_dispute = COLLECTION(
    "dispute", "矛盾纠纷", "27-35", PG_TIER_NONE, false, true, dispute_fields);
static const pg_collection coll_grid_event =
    COLLECTION("grid_event", "网格事项", "40", PG_TIER_NONE, false, true,
               grid_event_fields);
static const pg_collection coll_key_person =
    COLLECTION("key_person", "重点人群", "16", PG_TIER_COUNTY, false, false,
               key_person_fields);
static const pg_collection coll_supervision =
    COLLECTION("supervision", "督办/督导", "13, 48", PG_TIER_NONE, false, false,
               supervision_fields);
static const pg_collection coll_volunteer =
    COLLECTION("volunteer", "平安积分", "39, 47", PG_TIER_NONE, false, false,
               volunteer_fields);
static const pg_collection coll_fraud_alert =
    COLLECTION("fraud_alert", "电信网络诈骗预警", "23", PG_TIER_NONE, false,
               true, fraud_alert_fields);
static const pg_collection coll_drill = COLLECTION(
    "drill", "应急演练", "15, 43", PG_TIER_NONE, false, true, drill_fields);
/* Certificates reach partners by their own rule (DESIGN §6), never by an
 * agreement naming the collection. */
static const pg_collection coll_node = COLLECTION(
    "node", "节点证书", "40", PG_TIER_NONE, true, false, node_fields);

/* Collections added by a later schema version. */
#define COLLECTION_V(v, n, t, arts, cp, sys, partner, flds)                    \
    {                                                                          \
        .name = (n), .title = (t), .articles = (arts), .cap = (cp),            \
        .system = (sys), .partner_allowed = (partner), .fields = (flds),       \
        .nfields = ARRAY_LEN(flds), .since = (v)                               \
    }

static const pg_collection coll_dispute_party =
    COLLECTION_V(2, "dispute_party", "纠纷当事人", "27-35", PG_TIER_NONE, false,
                 true, dispute_party_fields);
static const pg_collection coll_daily_stats =
    COLLECTION_V(2, "daily_stats", "统计日报", "8, 41", PG_TIER_NONE, false,
                 true, daily_stats_fields);
static const pg_collection coll_division_remap =
    COLLECTION_V(2, "division_remap", "区划调整", "40", PG_TIER_NONE, true,
                 false, division_remap_fields);
static const pg_collection coll_purge = COLLECTION_V(
    2, "purge", "个人信息删除", "41", PG_TIER_NONE, true, false, purge_fields);

/* Append-only: a new version appends here (and to field arrays). */
static const pg_collection *const schema_collections[] = {
    &coll_hazard,
    &coll_dispute,
    &coll_grid_event,
    &coll_key_person,
    &coll_supervision,
    &coll_volunteer,
    &coll_fraud_alert,
    &coll_drill,
    &coll_node,
    /* version 2 */
    &coll_dispute_party,
    &coll_daily_stats,
    &coll_division_remap,
    &coll_purge,
};

#define NCOLLECTIONS ARRAY_LEN(schema_collections)

/* The implicit tombstone field of every collection. */
static const pg_field deleted_field =
    FIELD("_deleted", "已删除", BOOL, INTERNAL, LWW, false);

/* ---- per-version views, built once ---------------------------------- */

static pg_collection version_colls[PG_SCHEMA_VERSION][NCOLLECTIONS];
static const pg_collection *version_ptrs[PG_SCHEMA_VERSION][NCOLLECTIONS];
static pg_schema versions[PG_SCHEMA_VERSION];
static pthread_once_t versions_once = PTHREAD_ONCE_INIT;

static void schema_put_u32(pg_hash_state *st, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                    (uint8_t)v};
    pg_hash_update(st, b, sizeof(b));
}

static void schema_put_str(pg_hash_state *st, const char *s)
{
    size_t len = strlen(s);

    assert(len <= UINT32_MAX);
    schema_put_u32(st, (uint32_t)len);
    pg_hash_update(st, s, len);
}

static void schema_hash(pg_schema *schema)
{
    pg_hash_state st;

    pg_hash_init(&st, sizeof(schema->hash));
    schema_put_str(&st, "pingan.schema.v1");
    schema_put_u32(&st, schema->version);
    schema_put_u32(&st, (uint32_t)schema->ncollections);
    for (size_t i = 0; i < schema->ncollections; i++) {
        const pg_collection *c = schema->collections[i];
        schema_put_str(&st, c->name);
        schema_put_u32(&st, (uint32_t)c->cap);
        schema_put_u32(&st, c->system ? 1 : 0);
        schema_put_u32(&st, c->partner_allowed ? 1 : 0);
        schema_put_u32(&st, (uint32_t)c->nfields);
        for (size_t j = 0; j < c->nfields; j++) {
            const pg_field *f = &c->fields[j];
            uint32_t nvalues = 0;

            schema_put_str(&st, f->name);
            schema_put_u32(&st, (uint32_t)f->type);
            schema_put_u32(&st, (uint32_t)f->privacy);
            schema_put_u32(&st, (uint32_t)f->merge);
            schema_put_u32(&st, f->required ? 1 : 0);
            schema_put_u32(&st, (uint32_t)f->max_len);
            while (f->values && f->values[nvalues])
                nvalues++;
            schema_put_u32(&st, nvalues);
            for (uint32_t k = 0; k < nvalues; k++)
                schema_put_str(&st, f->values[k]);
        }
    }
    pg_hash_final(&st, schema->hash);
}

/* The number of leading fields of @p c that exist at @p version. */
static size_t schema_nfields_at(const pg_collection *c, unsigned version)
{
    size_t n = 0;

    while (n < c->nfields && c->fields[n].since <= version)
        n++;
    /* New fields are appended: none of the rest may be older. */
    for (size_t i = n; i < c->nfields; i++)
        assert(c->fields[i].since > version);
    return n;
}

static void schema_build(void)
{
    /* BLAKE2b works before initialisation, but let the suite pick its
     * implementation first; a failure here is reported elsewhere. */
    (void)pg_crypto_init();

    for (unsigned v = 1; v <= PG_SCHEMA_VERSION; v++) {
        pg_schema *s = &versions[v - 1];
        size_t n = 0;

        for (size_t i = 0; i < NCOLLECTIONS; i++) {
            const pg_collection *c = schema_collections[i];
            if (c->since > v)
                continue;
            assert(c->nfields > 0 && c->fields[0].since == c->since);
            version_colls[v - 1][n] = *c;
            version_colls[v - 1][n].nfields = schema_nfields_at(c, v);
            version_ptrs[v - 1][n] = &version_colls[v - 1][n];
            n++;
        }
        s->version = v;
        s->collections = version_ptrs[v - 1];
        s->ncollections = n;
        schema_hash(s);
    }
}

const pg_schema *pg_schema_get(unsigned version)
{
    if (version < 1 || version > PG_SCHEMA_VERSION)
        return NULL;
    pthread_once(&versions_once, schema_build);
    return &versions[version - 1];
}

const pg_schema *pg_schema_current(void)
{
    return pg_schema_get(PG_SCHEMA_VERSION);
}

const pg_collection *pg_schema_collection(const pg_schema *schema,
                                          const char *name)
{
    if (!schema || !name)
        return NULL;
    for (size_t i = 0; i < schema->ncollections; i++) {
        if (strcmp(schema->collections[i]->name, name) == 0)
            return schema->collections[i];
    }
    return NULL;
}

const pg_field *pg_collection_field(const pg_collection *coll, const char *name,
                                    size_t *index_out)
{
    if (!coll || !name)
        return NULL;
    for (size_t i = 0; i < coll->nfields; i++) {
        if (strcmp(coll->fields[i].name, name) == 0) {
            if (index_out)
                *index_out = i;
            return &coll->fields[i];
        }
    }
    if (strcmp(name, deleted_field.name) == 0) {
        if (index_out)
            *index_out = coll->nfields;
        return &deleted_field;
    }
    return NULL;
}

const pg_field *pg_collection_field_at(const pg_collection *coll, size_t index)
{
    if (!coll)
        return NULL;
    if (index < coll->nfields)
        return &coll->fields[index];
    if (index == coll->nfields)
        return &deleted_field;
    return NULL;
}

const char *pg_privacy_name(pg_privacy privacy)
{
    switch (privacy) {
    case PG_PRIVACY_PUBLIC:
        return "public";
    case PG_PRIVACY_INTERNAL:
        return "internal";
    case PG_PRIVACY_PERSONAL:
        return "personal";
    case PG_PRIVACY_SENSITIVE:
        return "sensitive";
    }
    return "?";
}

const char *pg_merge_name(pg_merge merge)
{
    switch (merge) {
    case PG_MERGE_LWW:
        return "lww";
    case PG_MERGE_COUNTER:
        return "counter";
    case PG_MERGE_AUTHORITY:
        return "authority";
    }
    return "?";
}

void pg_schema_hash_hex(char out[65], const pg_schema *schema)
{
    pg_hex(out, schema->hash, sizeof(schema->hash));
}
