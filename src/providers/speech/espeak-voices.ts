// espeak-ng's voices in @echogarden/espeak-ng-emscripten 0.3.5 (list_voices(), taken once), as
// identifier=languages (most likely first), and choosing one for a request's voice or language.
const TABLE =
  "gmw/af=af sem/am=am roa/an=an sem/ar=ar inc/as=as trk/az=az trk/ba=ba zle/be=be zls/bg=bg inc/bn=bn " +
  "inc/bpy=bpy zls/bs=bs roa/ca=ca roa/ca-ba=ca-ba roa/ca-nw=ca-nw roa/ca-va=ca-va iro/chr=chr-US-Qaaa-x-west " +
  "sit/cmn=cmn,zh-cmn,zh sit/cmn-Latn-pinyin=cmn-latn-pinyin,zh-cmn,zh zlw/cs=cs trk/cv=cv cel/cy=cy gmq/da=da " +
  "gmw/de=de grk/el=el gmw/en-029=en-029,en gmw/en=en-gb,en gmw/en-GB-scotland=en-gb-scotland,en " +
  "gmw/en-GB-x-gbclan=en-gb-x-gbclan,en-gb,en gmw/en-GB-x-gbcwmd=en-gb-x-gbcwmd,en-gb,en " +
  "gmw/en-GB-x-rp=en-gb-x-rp,en-gb,en gmw/en-US=en-us,en gmw/en-US-nyc=en-us-nyc art/eo=eo roa/es=es " +
  "roa/es-419=es-419,es-mx urj/et=et eu=eu ira/fa=fa ira/fa-Latn=fa-latn urj/fi=fi gmq/fo=fo roa/fr-BE=fr-be,fr " +
  "roa/fr-CH=fr-ch,fr roa/fr=fr-fr,fr cel/ga=ga cel/gd=gd sai/gn=gn grk/grc=grc inc/gu=gu sit/hak=hak " +
  "map/haw=haw sem/he=he inc/hi=hi zls/hr=hr,hbs roa/ht=ht urj/hu=hu ine/hy=hy,hy-arevela " +
  "ine/hyw=hyw,hy-arevmda,hy art/ia=ia poz/id=id art/io=io gmq/is=is roa/it=it jpx/ja=ja art/jbo=jbo ccs/ka=ka " +
  "trk/kaa=kaa trk/kk=kk esx/kl=kl dra/kn=kn ko=ko inc/kok=kok ira/ku=ku trk/ky=ky itc/la=la gmw/lb=lb " +
  "art/lfn=lfn bat/lt=lt bat/ltg=ltg bat/lv=lv poz/mi=mi zls/mk=mk dra/ml=ml inc/mr=mr poz/ms=ms sem/mt=mt " +
  "miz/mto=mto sit/my=my gmq/nb=nb,no azc/nci=nci inc/ne=ne gmw/nl=nl trk/nog=nog cus/om=om inc/or=or inc/pa=pa " +
  "roa/pap=pap art/piqd=piqd zlw/pl=pl roa/pt=pt,pt-pt roa/pt-BR=pt-br,pt art/py=py art/qdb=qdb qu=qu " +
  "myn/quc=quc art/qya=qya roa/ro=ro zle/ru=ru zle/ru-cl=ru-cl zle/ru-LV=ru-lv inc/sd=sd tai/shn=shn inc/si=si " +
  "art/sjn=sjn zlw/sk=sk zls/sl=sl urj/smj=smj ine/sq=sq zls/sr=sr gmq/sv=sv bnt/sw=sw dra/ta=ta dra/te=te " +
  "tai/th=th sem/ti=ti trk/tk=tk bnt/tn=tn trk/tr=tr trk/tt=tt trk/ug=ug zle/uk=uk inc/ur=ur trk/uz=uz aav/vi=vi " +
  "aav/vi-VN-x-central=vi-vn-x-central aav/vi-VN-x-south=vi-vn-x-south art/xex=xex sit/yue=yue,zh-yue,zh " +
  "sit/yue-Latn-jyutping=yue,zh-yue,zh";

type Voice = { identifier: string; languages: string[] };
const VOICES: Voice[] = TABLE.split(" ").map((entry) => {
  const [identifier, languages] = entry.split("=");
  return { identifier, languages: languages.split(",") };
});

/** Lower-cased language tag, voice identifier or its last segment → the voice's identifier. */
const BY_NAME = new Map<string, string>();
// Names a voice is first of all (identifier, its last segment, its main language) before the other
// languages it also speaks: "en" is gmw/en's own name before it is one of en-029's languages.
for (const keys of [(v: Voice) => [v.identifier, v.identifier.split("/").pop()!, v.languages[0]], (v: Voice) => v.languages.slice(1)]) {
  for (const voice of VOICES) {
    for (const key of keys(voice)) if (!BY_NAME.has(key.toLowerCase())) BY_NAME.set(key.toLowerCase(), voice.identifier);
  }
}
// BCP 47 tags browsers and Dify use that espeak names otherwise.
const ALIASES: Record<string, string> = { en: "en-us", zh: "cmn", "zh-cn": "cmn", "zh-hans": "cmn", "zh-tw": "cmn", "zh-hant": "yue", "zh-hk": "yue", nn: "nb", no: "nb", fil: "id" };

/** Each voice's main language tag: what voices() offers and a DSL may name. */
export const ESPEAK_LANGUAGES: readonly string[] = [...new Set(VOICES.map((v) => v.languages[0]))];

export const DEFAULT_ESPEAK_VOICE = "gmw/en-US";

/** The espeak voice for a name (identifier or language tag), else undefined. */
export function espeakVoice(name: string | undefined): string | undefined {
  if (!name) return undefined;
  const key = name.trim().toLowerCase().replace(/_/g, "-");
  const exact = BY_NAME.get(ALIASES[key] ?? key);
  if (exact) return exact;
  // "de-AT" → "de"; "pt-PT" → "pt".
  const primary = key.split("-")[0];
  return BY_NAME.get(ALIASES[primary] ?? primary);
}

/** The request's voice when espeak has it (a DSL may name an OpenAI voice: then the language decides), else by language. */
export function chooseEspeakVoice(voice: string | undefined, language: string | undefined, fallback = DEFAULT_ESPEAK_VOICE): string {
  return espeakVoice(voice) ?? espeakVoice(language) ?? fallback;
}
