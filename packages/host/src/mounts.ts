// Which mount holds a path, from /proc/self/mountinfo (Linux). Pure parsing; the caller reads.

export interface Mount {
  mountPoint: string;
  /** The mount source: /dev/sda1, overlay, tmpfs, server:/export ... */
  device: string;
  type: string;
  /** 'rw' or 'ro', from the per-mount options. */
  mode: string;
}

/**
 * One Mount per line of /proc/self/mountinfo, in file order (mount order):
 * `36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
 * (proc(5)). The optional fields before `-` vary in number, so fields after it are found from the
 * separator, not by position.
 */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0) continue;
    const mountPoint = fields[4];
    const options = fields[5];
    const type = fields[separator + 1];
    const device = fields[separator + 2];
    if (mountPoint === undefined || options === undefined || type === undefined || device === undefined) continue;
    mounts.push({
      mountPoint: unescape(mountPoint),
      device: unescape(device),
      type,
      mode: options.split(',').includes('ro') ? 'ro' : 'rw',
    });
  }
  return mounts;
}

/**
 * The mount holding `realPath` (already resolved, no symlinks): the longest mount point that is a
 * prefix of it; among equal mount points the last, since a later mount hides an earlier one.
 */
export function findMount(mounts: readonly Mount[], realPath: string): Mount | undefined {
  let found: Mount | undefined;
  for (const mount of mounts) {
    const mp = mount.mountPoint;
    const holds = mp === '/' || realPath === mp || realPath.startsWith(mp.endsWith('/') ? mp : `${mp}/`);
    if (holds && (!found || mp.length >= found.mountPoint.length)) found = mount;
  }
  return found;
}

// The kernel writes space, tab, newline and backslash in paths as octal escapes (\040 ...).
function unescape(field: string): string {
  return field.includes('\\') ? field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))) : field;
}
