/** The removebg_mask options that change the picture, with the provider's documented defaults. */
export interface CutoutOptions {
  onlyMask: boolean;
  inverseMask: boolean;
  postProcessMask: boolean;
  alphaMatting: boolean;
  alphaMattingForegroundThreshold: number;
  alphaMattingBackgroundThreshold: number;
  alphaMattingErodeSize: number;
}

export const DEFAULT_CUTOUT_OPTIONS: CutoutOptions = {
  onlyMask: false,
  inverseMask: false,
  postProcessMask: false,
  alphaMatting: false,
  alphaMattingForegroundThreshold: 240,
  alphaMattingBackgroundThreshold: 20,
  alphaMattingErodeSize: 5,
};
