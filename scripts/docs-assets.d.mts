export declare const vendorDir: string;
/** Copies the pinned Scalar API reference bundle into public/docs/vendor/. */
export declare function copyDocsAssets(): void;
