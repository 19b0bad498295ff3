"""A small numpy triangle rasterizer: pinhole camera, z-buffer, flat Lambert shading, a floor, a
wall.

Vectorised for low resolutions: triangles are grouped by the size of their pixel bounding box and
each group tests all pixel centres of its box at once; the nearest sample per pixel wins. Triangles
that cover no pixel centre are dropped (harmless at these sizes). World frame: z up, metres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
ImageBGR = NDArray[np.uint8]


@dataclass(frozen=True)
class Camera:
    """Pinhole camera. rot (3, 3) world->camera (rows: image right, image down, forward),
    position_m (3,), focal_px, size in pixels. Camera coordinates: x right, y down, z forward."""

    rot: FloatArray
    position_m: FloatArray
    focal_px: float
    width: int
    height: int

    @staticmethod
    def look_at(
        eye: FloatArray, target: FloatArray, focal_px: float, width: int, height: int
    ) -> Camera:
        fwd = target - eye
        fwd = fwd / np.linalg.norm(fwd)
        right = np.cross(fwd, np.array([0.0, 0.0, 1.0]))
        right = right / np.linalg.norm(right)
        down = np.cross(fwd, right)
        return Camera(
            np.stack([right, down, fwd]), np.asarray(eye, dtype=np.float64), focal_px, width, height
        )

    def to_camera(self, pts_m: FloatArray) -> FloatArray:
        return (pts_m - self.position_m) @ self.rot.T

    def project(self, pts_m: FloatArray) -> tuple[FloatArray, FloatArray]:
        """(..., 3) world points -> (..., 2) pixel coordinates (x right, y down) and (...) depth
        (m)."""
        c = self.to_camera(pts_m)
        z = c[..., 2]
        safe = np.where(z > 1e-6, z, np.nan)
        uv = np.stack(
            [
                self.focal_px * c[..., 0] / safe + self.width / 2.0,
                self.focal_px * c[..., 1] / safe + self.height / 2.0,
            ],
            axis=-1,
        )
        return uv, z

    def rays(self) -> FloatArray:
        """(H, W, 3) world directions through every pixel centre."""
        xs = (np.arange(self.width) + 0.5 - self.width / 2.0) / self.focal_px
        ys = (np.arange(self.height) + 0.5 - self.height / 2.0) / self.focal_px
        gx, gy = np.meshgrid(xs, ys)
        d = np.stack([gx, gy, np.ones_like(gx)], axis=-1)
        out: FloatArray = d @ self.rot
        return out


# --------------------------------------------------------------------------------------------------
# Meshes


def cylinder_x(
    radius: float, x0: float, x1: float, segments: int = 20, sections: int = 1
) -> tuple[FloatArray, IntArray]:
    """A closed cylinder along x from x0 to x1 centred on the x axis, cut into `sections` rings
    along its length (long thin triangles are slow to rasterize): vertices (N, 3), faces (F, 3)."""
    a = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    ring = np.stack([np.zeros_like(a), radius * np.cos(a), radius * np.sin(a)], axis=1)
    xs = np.linspace(x0, x1, sections + 1)
    verts = np.vstack(
        [ring + np.array([x, 0.0, 0.0]) for x in xs] + [np.array([[x0, 0.0, 0.0], [x1, 0.0, 0.0]])]
    )
    n = segments
    c0, c1 = (sections + 1) * n, (sections + 1) * n + 1
    faces: list[list[int]] = []
    for j in range(sections):
        a0, a1 = j * n, (j + 1) * n
        for k in range(n):
            k1 = (k + 1) % n
            faces.append([a0 + k, a0 + k1, a1 + k1])
            faces.append([a0 + k, a1 + k1, a1 + k])
    last = sections * n
    for k in range(n):
        k1 = (k + 1) % n
        faces.append([c0, k1, k])
        faces.append([c1, last + k, last + k1])
    return verts.astype(np.float64), np.asarray(faces, dtype=np.int64)


@dataclass(frozen=True)
class Mesh:
    """vertices (N, 3) metres, faces (F, 3), face_rgb (F, 3) 0..1 albedo."""

    vertices: FloatArray
    faces: IntArray
    face_rgb: FloatArray


def merge(meshes: list[Mesh]) -> Mesh:
    verts, faces, cols = [], [], []
    base = 0
    for m in meshes:
        verts.append(m.vertices)
        faces.append(m.faces + base)
        cols.append(m.face_rgb)
        base += len(m.vertices)
    return Mesh(np.vstack(verts), np.vstack(faces), np.vstack(cols))


def barbell(
    plate_radius_m: float, plate_rgb: FloatArray, bar_rgb: FloatArray, n_plates: int = 2
) -> Mesh:
    """A barbell centred at the origin along x: a 2.2 m bar, collars and n_plates plates a side."""
    parts: list[Mesh] = []

    def add(
        radius: float, x0: float, x1: float, rgb: FloatArray, seg: int, sections: int = 1
    ) -> None:
        v, f = cylinder_x(radius, x0, x1, seg, sections)
        parts.append(Mesh(v, f, np.broadcast_to(rgb, (len(f), 3)).copy()))

    add(0.014, -1.10, 1.10, bar_rgb, 8, 44)
    thick = 0.055
    for sign in (-1.0, 1.0):
        x = 0.47
        add(0.025, sign * 0.43, sign * 0.47, bar_rgb * 0.8, 10)
        for k in range(n_plates):
            r = plate_radius_m if k == 0 else plate_radius_m * 0.96
            lo, hi = x, x + thick
            add(
                r,
                sign * lo if sign > 0 else sign * hi,
                sign * hi if sign > 0 else sign * lo,
                plate_rgb * (1.0 - 0.1 * k),
                28,
            )
            x = hi + 0.004
    return merge(parts)


def face_normals(vertices: FloatArray, faces: IntArray) -> FloatArray:
    v0, v1, v2 = vertices[faces[:, 0]], vertices[faces[:, 1]], vertices[faces[:, 2]]
    n = np.cross(v1 - v0, v2 - v0)
    out: FloatArray = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    return out


# --------------------------------------------------------------------------------------------------
# Rasterizing


@dataclass(frozen=True)
class Light:
    """direction (3,) pointing FROM the light into the scene (world), ambient and diffuse
    weights."""

    direction: FloatArray
    ambient: float = 0.45
    diffuse: float = 0.6


def shade(mesh: Mesh, light: Light, cam: Camera) -> FloatArray:
    """(F, 3) face colours 0..1 with flat two-sided Lambert shading (normals turned to the
    camera)."""
    n = face_normals(mesh.vertices, mesh.faces)
    centre = mesh.vertices[mesh.faces].mean(axis=1)
    to_cam = cam.position_m - centre
    flip = np.sign(np.sum(n * to_cam, axis=1))
    n = n * np.where(flip == 0, 1.0, flip)[:, None]
    lam = np.clip(-(n @ (light.direction / np.linalg.norm(light.direction))), 0.0, 1.0)
    out: FloatArray = mesh.face_rgb * (light.ambient + light.diffuse * lam)[:, None]
    return np.clip(out, 0.0, 1.0)


def rasterize(
    cam: Camera, vertices: FloatArray, faces: IntArray, cull_back: bool = True
) -> tuple[IntArray, IntArray]:
    """Visible face per pixel: (pixel flat indices (K,), face ids (K,)) of the nearest face at each
    covered pixel centre."""
    uv, z = cam.project(vertices)
    tri_uv = uv[faces]  # (F, 3, 2)
    tri_z = z[faces]
    ok = np.all(tri_z > 0.05, axis=1) & np.all(np.isfinite(tri_uv), axis=(1, 2))
    lo = np.floor(np.nanmin(tri_uv, axis=1) - 0.5)
    hi = np.ceil(np.nanmax(tri_uv, axis=1) - 0.5)
    ok &= (hi[:, 0] >= 0) & (hi[:, 1] >= 0) & (lo[:, 0] < cam.width) & (lo[:, 1] < cam.height)
    if cull_back:  # faces wound counter-clockwise seen from outside (anny's mesh and cylinder_x)
        v0 = vertices[faces[:, 0]]
        normal = np.cross(vertices[faces[:, 1]] - v0, vertices[faces[:, 2]] - v0)
        ok &= np.sum(normal * (cam.position_m - v0), axis=1) > 0
    ids = np.flatnonzero(ok)
    lo_i = np.clip(lo[ids], -1, [cam.width, cam.height]).astype(np.int64)
    hi_i = np.clip(hi[ids], -1, [cam.width, cam.height]).astype(np.int64)
    dims = hi_i - lo_i + 1  # (n, 2) box width, height in pixels
    pix_all: list[IntArray] = []
    depth_all: list[FloatArray] = []
    face_all: list[IntArray] = []
    keys = dims[:, 0] * 100_000 + dims[:, 1]
    for key in np.unique(keys):
        sel = keys == key
        kw, kh = int(key // 100_000), int(key % 100_000)
        f_ids = ids[sel]
        base = lo_i[sel]
        off = np.stack(np.meshgrid(np.arange(kw), np.arange(kh)), axis=-1).reshape(-1, 2)
        px = base[:, None, :] + off[None, :, :]  # (n, kw*kh, 2)
        cx = px[..., 0] + 0.5
        cy = px[..., 1] + 0.5
        t = tri_uv[f_ids]
        x0, y0 = t[:, 0, 0:1], t[:, 0, 1:2]
        x1, y1 = t[:, 1, 0:1], t[:, 1, 1:2]
        x2, y2 = t[:, 2, 0:1], t[:, 2, 1:2]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
        w0 = (x1 - cx) * (y2 - cy) - (x2 - cx) * (y1 - cy)
        w1 = (x2 - cx) * (y0 - cy) - (x0 - cx) * (y2 - cy)
        w2 = area - w0 - w1
        sgn = np.sign(area)
        inside = (w0 * sgn >= 0) & (w1 * sgn >= 0) & (w2 * sgn >= 0) & (np.abs(area) > 1e-9)
        inside &= (
            (px[..., 0] >= 0)
            & (px[..., 0] < cam.width)
            & (px[..., 1] >= 0)
            & (px[..., 1] < cam.height)
        )
        if not inside.any():
            continue
        safe_area = np.where(np.abs(area) > 1e-9, area, 1.0)
        tz = tri_z[f_ids]
        depth = (w0 * tz[:, 0:1] + w1 * tz[:, 1:2] + w2 * tz[:, 2:3]) / safe_area
        rows, cols = np.nonzero(inside)
        pix_all.append(px[rows, cols, 1] * cam.width + px[rows, cols, 0])
        depth_all.append(depth[rows, cols])
        face_all.append(f_ids[rows])
    if not pix_all:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    pix = np.concatenate(pix_all)
    depth_c = np.concatenate(depth_all)
    face = np.concatenate(face_all)
    order = np.lexsort((depth_c, pix))
    pix, face = pix[order], face[order]
    first = np.ones(len(pix), dtype=bool)
    first[1:] = pix[1:] != pix[:-1]
    return pix[first], face[first]


def render(cam: Camera, mesh: Mesh, light: Light, background: ImageBGR) -> ImageBGR:
    """Draw the mesh over a copy of the background (H, W, 3) uint8 BGR."""
    pix, face = rasterize(cam, mesh.vertices, mesh.faces)
    visible, inverse = np.unique(face, return_inverse=True)
    sub = Mesh(mesh.vertices, mesh.faces[visible], mesh.face_rgb[visible])
    bgr = (shade(sub, light, cam)[:, ::-1] * 255.0).astype(np.uint8)
    img = background.copy().reshape(-1, 3)
    img[pix] = bgr[inverse]
    return img.reshape(background.shape)


# --------------------------------------------------------------------------------------------------
# Backgrounds


@dataclass(frozen=True)
class Scene:
    """Floor and wall colours (RGB 0..1), the wall's distance behind the lifter (m, along the
    camera's view), a lifting platform's half size (m), texture noise amplitude 0..1."""

    wall_top_rgb: FloatArray
    wall_bottom_rgb: FloatArray
    floor_rgb: FloatArray
    platform_rgb: FloatArray
    wall_distance_m: float = 3.0
    platform_half_m: float = 1.2
    noise: float = 0.04


def background(
    cam: Camera, scene: Scene, rng: np.random.Generator, target_m: FloatArray
) -> ImageBGR:
    """A static backdrop: a textured floor (z = 0) with a darker platform and a soft contact shadow
    around the origin, and a gradient wall; BGR uint8 (H, W, 3)."""
    h, w = cam.height, cam.width
    rays = cam.rays()
    # The wall is a vertical plane facing the camera, wall_distance_m beyond the target.
    view = target_m - cam.position_m
    view[2] = 0.0
    view = view / np.linalg.norm(view)
    wall_point = target_m + view * scene.wall_distance_m
    denom_wall = rays @ view
    t_wall = np.where(
        denom_wall > 1e-6,
        ((wall_point - cam.position_m) @ view) / np.maximum(denom_wall, 1e-6),
        np.inf,
    )
    t_floor = np.where(
        rays[..., 2] < -1e-6, -cam.position_m[2] / np.minimum(rays[..., 2], -1e-6), np.inf
    )
    floor = t_floor < t_wall
    hit = cam.position_m + rays * np.where(floor, t_floor, t_wall)[..., None]

    rows = np.linspace(0.0, 1.0, h)[:, None, None]
    wall = scene.wall_top_rgb * (1 - rows) + scene.wall_bottom_rgb * rows
    wall = np.broadcast_to(wall, (h, w, 3)).copy()
    img = np.where(floor[..., None], scene.floor_rgb, wall)
    on_platform = (
        floor
        & (np.abs(hit[..., 0]) < scene.platform_half_m)
        & (np.abs(hit[..., 1]) < scene.platform_half_m)
    )
    img = np.where(on_platform[..., None], scene.platform_rgb, img)
    # Wall panels / floor boards give the background some structure.
    seams = floor & (np.abs(((hit[..., 1] + 10.0) % 0.6) - 0.3) > 0.29)
    img = np.where(seams[..., None] & ~on_platform[..., None], img * 0.85, img)
    r2 = (hit[..., 0] / 0.45) ** 2 + (hit[..., 1] / 0.35) ** 2
    shadow = np.where(floor, 1.0 - 0.35 * np.exp(-r2), 1.0)
    img = img * shadow[..., None]
    coarse = rng.normal(0.0, 1.0, (h // 4 + 1, w // 4 + 1))
    noise = np.asarray(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC), dtype=np.float64)
    fine = rng.normal(0.0, 0.5, (h, w, 1))
    img = img * (1.0 + scene.noise * (noise.reshape(h, w, 1) + fine))
    out: ImageBGR = (np.clip(img, 0.0, 1.0)[..., ::-1] * 255.0).astype(np.uint8)
    return out
