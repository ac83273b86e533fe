// The viewer's labels in the two languages the platform speaks (lang comes from the page's config).
const WORDS = {
  en: {
    series: 'Series', stack: 'Stack', mpr: 'Axial / coronal / sagittal', mip: 'MIP', fusion: 'Fusion',
    windowLevel: 'Window/level', pan: 'Pan', zoom: 'Zoom', length: 'Length', ellipse: 'Ellipse ROI',
    rectangle: 'Rectangle ROI', reset: 'Reset', preset: 'Preset', slice: 'Slice', opacity: 'Overlay opacity',
    softTissue: 'CT soft tissue', bone: 'CT bone', lung: 'CT lung', suv5: 'SUV 0-5', suv10: 'SUV 0-10',
    invertedGrey: 'Inverted grey', fullRange: 'Full range', raw: 'Raw', rescaled: 'Rescaled', suv: 'SUV',
    noSuv: 'no SUV', loading: 'Loading images…', failed: 'The images could not be loaded', measurements: 'Measurements',
    save: 'Save', saveTo: 'Save to', label: 'Label', saved: 'Saved', mean: 'mean', max: 'max', area: 'area',
    suvMax: 'SUVmax', suvMean: 'SUVmean', suvPeak: 'SUVpeak', pixels: 'pixels', noMeasurements: 'Draw a length or a ROI to measure.',
    delete: 'Remove', tools: 'Tools', mode: 'View', noVolume: 'This series cannot be reformatted (one slice or no common geometry).',
    noFusion: 'No CT and PET/NM series share a frame of reference in this study.', keys: 'Wheel, arrow keys or the slider scroll; right drag zooms; middle drag pans.',
    readOnly: 'Measurements are shown here but cannot be saved from this page.',
  },
  'zh-hans': {
    series: '序列', stack: '堆栈', mpr: '横断 / 冠状 / 矢状', mip: '最大密度投影', fusion: '融合',
    windowLevel: '窗宽/窗位', pan: '平移', zoom: '缩放', length: '长度', ellipse: '椭圆 ROI',
    rectangle: '矩形 ROI', reset: '复位', preset: '预设', slice: '层面', opacity: '叠加透明度',
    softTissue: 'CT 软组织', bone: 'CT 骨', lung: 'CT 肺', suv5: 'SUV 0-5', suv10: 'SUV 0-10',
    invertedGrey: '反相灰阶', fullRange: '全范围', raw: '原始值', rescaled: '换算值', suv: 'SUV',
    noSuv: '无 SUV', loading: '正在加载图像…', failed: '无法加载图像', measurements: '测量',
    save: '保存', saveTo: '保存到', label: '标注', saved: '已保存', mean: '平均', max: '最大', area: '面积',
    suvMax: 'SUVmax', suvMean: 'SUVmean', suvPeak: 'SUVpeak', pixels: '像素', noMeasurements: '画出长度或 ROI 进行测量。',
    delete: '删除', tools: '工具', mode: '视图', noVolume: '该序列无法重建（只有一层或几何不一致）。',
    noFusion: '本检查中没有共享参考坐标系的 CT 与 PET/NM 序列。', keys: '滚轮、方向键或滑块翻层；右键拖动缩放；中键拖动平移。',
    readOnly: '此页面显示测量结果，但不能保存。',
  },
};

export function translator(lang) {
  const table = WORDS[(lang || 'en').toLowerCase()] || WORDS.en;
  return (key) => table[key] ?? WORDS.en[key] ?? key;
}

export const LANGUAGES = Object.keys(WORDS);
